/**
 * The `/api/ws` socket as a frontend opens it: the standard `WebSocket` (browsers have it; Node
 * 20 needs `--experimental-websocket`, Node 22 has it by default), frames typed by the generated
 * client (`RealtimeProtocol`'s examples are the unions of every frame each side sends).
 */
import assert from "node:assert/strict";

import { type RealtimeProtocol, getRealtimeProtocol } from "../src";
import { baseUrl, ok } from "./support";

export type ClientFrame = RealtimeProtocol["client_examples"][number];
export type ServerFrame = RealtimeProtocol["server_examples"][number];

/** The ceiling for any one frame: generous, because the machine running the tests is shared. */
export const FRAME_CEILING_MS = 60_000;

type Waiter = {
  match: (frame: ServerFrame) => boolean;
  resolve: (frame: ServerFrame) => void;
  reject: (error: Error) => void;
};

export class RealtimeSocket {
  /** Every frame received and not yet taken by `next`, in order. */
  private readonly pending: ServerFrame[] = [];
  private readonly waiters: Waiter[] = [];
  private closed: CloseEvent | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener("message", (event: MessageEvent) => {
      const frame = JSON.parse(String(event.data)) as ServerFrame;
      const index = this.waiters.findIndex((waiter) => waiter.match(frame));
      const [waiter] = index === -1 ? [] : this.waiters.splice(index, 1);
      if (waiter) waiter.resolve(frame);
      else this.pending.push(frame);
    });
    socket.addEventListener("close", (event: CloseEvent) => {
      this.closed = event;
      for (const waiter of this.waiters.splice(0)) {
        waiter.reject(new Error(`the socket closed (${event.code} ${event.reason})`));
      }
    });
  }

  /** Connect to the URL `GetRealtimeProtocol` names and authenticate with the first frame. */
  static async open(accessToken: string): Promise<RealtimeSocket> {
    assert.equal(
      typeof WebSocket,
      "function",
      "no global WebSocket: run Node 20 with --experimental-websocket (Node 22 has it by default)",
    );
    const protocol: RealtimeProtocol = ok(await getRealtimeProtocol());
    const url = new URL(protocol.url, baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new Error(`could not open ${url}`)), { once: true });
    });
    const realtime = new RealtimeSocket(socket);
    realtime.send({ type: "auth", token: accessToken });
    await realtime.next((frame) => frame.type === "ready");
    return realtime;
  }

  send(frame: ClientFrame): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** The first frame (already received, or still to come) that `match` accepts. */
  next<T extends ServerFrame>(match: (frame: ServerFrame) => frame is T, what?: string): Promise<T>;
  next(match: (frame: ServerFrame) => boolean, what?: string): Promise<ServerFrame>;
  next(match: (frame: ServerFrame) => boolean, what = "the expected frame"): Promise<ServerFrame> {
    const index = this.pending.findIndex(match);
    if (index !== -1) {
      const [frame] = this.pending.splice(index, 1);
      return Promise.resolve(frame as ServerFrame);
    }
    if (this.closed) {
      return Promise.reject(new Error(`the socket closed (${this.closed.code} ${this.closed.reason}) before ${what}`));
    }
    return new Promise<ServerFrame>((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (frame) => (clearTimeout(timer), resolve(frame)),
        reject: (error) => (clearTimeout(timer), reject(new Error(`${error.message} before ${what}`))),
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`waited ${FRAME_CEILING_MS} ms for ${what}; received meanwhile: ${JSON.stringify(this.pending)}`));
      }, FRAME_CEILING_MS);
      this.waiters.push(waiter);
    });
  }

  /** Subscribe and wait for the server's answer: `subscribed`, or an `error` naming the topic. */
  async subscribe(topic: string): Promise<ServerFrame> {
    this.send({ type: "subscribe", topic });
    return this.next(
      (frame) => (frame.type === "subscribed" || frame.type === "error") && frame.topic === topic,
      `the answer to subscribing to ${topic}`,
    );
  }

  close(): void {
    this.socket.close(1000, "done");
  }
}
