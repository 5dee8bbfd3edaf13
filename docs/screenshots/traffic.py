#!/usr/bin/env python3
"""Demo traffic for the screenshots: an echo server, and clients that send through a mapping.

Usage: traffic.py serve PORTFILE        (prints the echo port into PORTFILE, runs until killed)
       traffic.py send PORT SECONDS     (three connections, one of them busy)
"""
import socket
import sys
import threading
import time


def echo(connection):
    with connection:
        while data := connection.recv(65536):
            connection.sendall(data)


def serve(port_file):
    server = socket.create_server(("127.0.0.1", 0))
    with open(port_file, "w") as out:
        out.write(str(server.getsockname()[1]))
    while True:
        connection, _ = server.accept()
        threading.Thread(target=echo, args=(connection,), daemon=True).start()


def client(port, bytes_per_second, seconds):
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.settimeout(1)
        chunk = b"x" * max(1, bytes_per_second // 20)
        end = time.time() + seconds
        while time.time() < end:
            connection.sendall(chunk)
            try:
                connection.recv(len(chunk) * 2)
            except socket.timeout:
                pass
            time.sleep(0.05)


def send(port, seconds):
    threads = [threading.Thread(target=client, args=(port, rate, seconds), daemon=True)
               for rate in (1_800_000, 120_000, 2_000)]
    for thread in threads:
        thread.start()
        time.sleep(0.3)
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        send(int(sys.argv[2]), float(sys.argv[3]))
