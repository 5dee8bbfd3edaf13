#pragma once

#include <QtGlobal>

namespace wstunnel {

// Credit-based flow control of one channel, both directions, in byte offsets.
//
// Sending: the peer allows us to send up to its consumed offset plus its window. Receiving: we
// allow the peer up to our consumed offset plus our window, and return credit once we have
// handed a quarter of the window to the local socket, so credit messages stay rare.
//
// The receive window may change with each credit (autotuning), but the limit granted never moves
// back: data the peer sent under an earlier, larger limit is still accepted.
class ChannelWindow
{
public:
    explicit ChannelWindow(quint32 receiveWindow = 0);

    // Sending side.
    void setPeerWindow(quint32 window);
    // False when the credit is inconsistent: consumed beyond what we sent, or going backwards.
    bool applyCredit(quint64 consumed, quint32 window);
    quint64 sendable() const;
    void recordSent(quint64 bytes);
    quint64 sentOffset() const { return m_sent; }
    quint64 peerConsumed() const { return m_peerConsumed; }

    // Receiving side.
    // False when data does not start at the expected offset or exceeds the granted window.
    bool acceptIncoming(quint64 offset, quint64 bytes);
    void recordConsumed(quint64 bytes);
    bool creditDue() const;
    // Marks the current consumed offset as advertised, with the current window, and returns it.
    quint64 takeCredit();
    // The window the next credit announces; the limit granted stays where it is until then.
    void setReceiveWindow(quint32 window) { m_receiveWindow = window; }
    // The highest offset the peer was ever allowed to send up to.
    quint64 grantedLimit() const { return m_grantedLimit; }
    quint64 receivedOffset() const { return m_received; }
    quint64 consumedOffset() const { return m_consumed; }
    quint64 buffered() const { return m_received - m_consumed; }
    quint32 receiveWindow() const { return m_receiveWindow; }

private:
    quint64 m_sent = 0;
    quint64 m_peerConsumed = 0;
    quint32 m_peerWindow = 0;

    quint32 m_receiveWindow = 0;
    quint64 m_received = 0;
    quint64 m_consumed = 0;
    quint64 m_advertised = 0;
    quint64 m_grantedLimit = 0;
};

} // namespace wstunnel
