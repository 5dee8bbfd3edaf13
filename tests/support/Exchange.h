#pragma once

#include <QByteArray>
#include <QHostAddress>

class QUdpSocket;

// Sends request through a TCP port and collects as many bytes back (fewer if the connection ends
// first), keeping the event loop, and so any in-process tunnel or server, running while it waits.
QByteArray exchange(quint16 port, const QByteArray &request, int timeoutMs = 10000,
                    const QHostAddress &address = QHostAddress(QHostAddress::LocalHost));

// Sends one datagram from socket to address:port and waits for the next one that comes back,
// keeping the event loop running; empty when none came within 10 s.
QByteArray exchange(QUdpSocket &socket, const QHostAddress &address, quint16 port,
                    const QByteArray &datagram);
