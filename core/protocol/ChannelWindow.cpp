#include "ChannelWindow.h"

namespace wstunnel {

ChannelWindow::ChannelWindow(quint32 receiveWindow)
    : m_receiveWindow(receiveWindow)
    , m_grantedLimit(receiveWindow)
{
}

void ChannelWindow::setPeerWindow(quint32 window)
{
    m_peerWindow = window;
}

bool ChannelWindow::applyCredit(quint64 consumed, quint32 window)
{
    if (consumed > m_sent || consumed < m_peerConsumed)
        return false;
    m_peerConsumed = consumed;
    m_peerWindow = window;
    return true;
}

quint64 ChannelWindow::sendable() const
{
    const quint64 limit = m_peerConsumed + m_peerWindow;
    return limit > m_sent ? limit - m_sent : 0;
}

void ChannelWindow::recordSent(quint64 bytes)
{
    m_sent += bytes;
}

bool ChannelWindow::acceptIncoming(quint64 offset, quint64 bytes)
{
    if (offset != m_received)
        return false;
    if (m_received + bytes > m_grantedLimit)
        return false;
    m_received += bytes;
    return true;
}

void ChannelWindow::recordConsumed(quint64 bytes)
{
    Q_ASSERT(m_consumed + bytes <= m_received);
    m_consumed += bytes;
}

bool ChannelWindow::creditDue() const
{
    return m_consumed - m_advertised >= qMax<quint64>(m_receiveWindow / 4, 1);
}

quint64 ChannelWindow::takeCredit()
{
    m_advertised = m_consumed;
    m_grantedLimit = qMax(m_grantedLimit, m_consumed + m_receiveWindow);
    return m_consumed;
}

} // namespace wstunnel
