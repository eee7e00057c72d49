#!/usr/bin/env python3
"""A TCP proxy that can stall the path it carries, for bench/soak.sh.

    stall_proxy.py LISTEN_PORT UPSTREAM_PORT

Forwards every connection to 127.0.0.1:LISTEN_PORT to 127.0.0.1:UPSTREAM_PORT.
SIGUSR1 stalls it: no byte moves in either direction and new connections wait,
while every TCP connection stays open, which is what a client sees when its
destination hangs without closing (a "stalled sink"). SIGUSR2 resumes. An
upstream that goes away (broker killed) closes the client side too, so
clients reconnect as they would to the broker itself.
"""
import asyncio
import signal
import sys

CHUNK = 256 * 1024


async def pump(reader, writer, flowing):
    try:
        while True:
            await flowing.wait()
            data = await reader.read(CHUNK)
            if not data:
                break
            await flowing.wait()
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


async def serve(listen_port, upstream_port):
    flowing = asyncio.Event()
    flowing.set()
    loop = asyncio.get_running_loop()

    def stall():
        flowing.clear()
        print("stall_proxy: stalled", flush=True)

    def resume():
        flowing.set()
        print("stall_proxy: flowing", flush=True)

    loop.add_signal_handler(signal.SIGUSR1, stall)
    loop.add_signal_handler(signal.SIGUSR2, resume)

    async def on_client(client_reader, client_writer):
        await flowing.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, up_writer, flowing),
                             pump(up_reader, client_writer, flowing))

    server = await asyncio.start_server(on_client, "127.0.0.1", listen_port, reuse_address=True)
    print(f"stall_proxy: 127.0.0.1:{listen_port} -> 127.0.0.1:{upstream_port}", flush=True)
    async with server:
        await server.serve_forever()


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2])))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
