#!/usr/bin/env python3
"""A two-port Ethernet delay line for tests: every frame received on one
interface is sent out of the other DELAY milliseconds later, both ways.

This kernel has neither netem nor fq, so this is how a test gets a known,
steady round-trip time between a "VM" and its remote peer: put the line
between them and the RTT grows by twice the delay. Offloads must be off on
the endpoints (frames larger than the MTU cannot be sent again).

    delayline.py IFACE_A IFACE_B DELAY_MS
"""
import heapq
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def open_port(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    s.setblocking(False)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    return s


def main():
    a_name, b_name, delay_ms = sys.argv[1], sys.argv[2], float(sys.argv[3])
    delay = delay_ms / 1000.0
    a, b = open_port(a_name), open_port(b_name)
    other = {a.fileno(): b, b.fileno(): a}
    poller = select.poll()
    poller.register(a, select.POLLIN)
    poller.register(b, select.POLLIN)
    queue = []  # (due, seq, socket, frame)
    seq = 0
    print("ready", flush=True)
    while True:
        timeout = -1
        if queue:
            timeout = max(0, int((queue[0][0] - time.monotonic()) * 1000))
        for fd, _ in poller.poll(timeout):
            src = a if fd == a.fileno() else b
            while True:
                try:
                    frame, addr = src.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:  # our own sends
                    continue
                seq += 1
                heapq.heappush(queue, (time.monotonic() + delay, seq, other[fd], frame))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, dst, frame = heapq.heappop(queue)
            try:
                dst.send(frame)
            except OSError:
                pass  # too big or the link is down: the network drops it


if __name__ == "__main__":
    main()
