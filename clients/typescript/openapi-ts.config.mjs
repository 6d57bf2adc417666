// @hey-api/openapi-ts configuration: `make codegen` (or `npm run generate`) reads openapi.json
// (exported from the app by `make codegen`) and writes the typed client into src/.
import { defineConfig } from "@hey-api/openapi-ts";

export default defineConfig({
  // The environment overrides exist for the freshness check, which generates into a temporary folder.
  input: process.env.OPENAPI_TS_INPUT ?? "./openapi.json",
  output: {
    path: process.env.OPENAPI_TS_OUTPUT ?? "./src",
    clean: true,
  },
  logs: { level: "warn", file: false },
  plugins: [
    { name: "@hey-api/client-fetch", includeInEntry: true },
    { name: "@hey-api/typescript", enums: "javascript" },
    { name: "@hey-api/sdk" },
  ],
});
