import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** Listens and resolves with the bound port. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Tracks a server's sockets so stop() can destroy them (keep-alive, hung upgrades, WebSockets) instead of waiting. */
export function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  const add = (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  server.on("connection", add);
  // For TLS servers the plain socket is seen on "connection"; the TLS socket wraps it and closes with it.
  return sockets;
}

/** Stops listening (if it still does) and destroys every open connection. */
export async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  const closed = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
  for (const socket of sockets) socket.destroy();
  server.closeAllConnections();
  await closed;
}

export function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
