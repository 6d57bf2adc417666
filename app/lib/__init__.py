"""Cross-cutting pieces every domain uses: errors, schemas, auth, dependencies, pagination."""
