#pragma once

#include <QtGlobal>

#include <atomic>
#include <thread>

// Sends datagrams from one source to a loopback port as fast as one thread can, until told to
// stop or the time is up: a flood the event loop of the test does not pace.
class UdpFlood
{
public:
    UdpFlood(quint16 port, int datagramSize, int maxMs);
    ~UdpFlood();

    void stop();
    bool done() const { return m_done; }
    int sent() const { return m_sent; }

private:
    std::thread m_thread;
    std::atomic<bool> m_stop{false};
    std::atomic<bool> m_done{false};
    std::atomic<int> m_sent{0};
};
