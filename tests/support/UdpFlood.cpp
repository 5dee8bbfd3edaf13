#include "UdpFlood.h"

#include <QByteArray>
#include <QElapsedTimer>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

UdpFlood::UdpFlood(quint16 port, int datagramSize, int maxMs)
{
    m_thread = std::thread([this, port, datagramSize, maxMs] {
        QElapsedTimer elapsed;
        elapsed.start();
        const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in target{};
        target.sin_family = AF_INET;
        target.sin_port = htons(port);
        target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const QByteArray bytes(datagramSize, 'f');
        while (!m_stop && elapsed.elapsed() < maxMs) {
            if (::sendto(fd, bytes.constData(), size_t(bytes.size()), 0,
                         reinterpret_cast<const sockaddr *>(&target), sizeof target) > 0)
                ++m_sent;
        }
        ::close(fd);
        m_done = true;
    });
}

UdpFlood::~UdpFlood()
{
    stop();
}

void UdpFlood::stop()
{
    m_stop = true;
    if (m_thread.joinable())
        m_thread.join();
}
