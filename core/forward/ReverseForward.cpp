#include "ReverseForward.h"

namespace wstunnel {

ReverseForward::ReverseForward(const ForwardSpec &spec, QObject *parent)
    : QObject(parent)
    , m_spec(spec)
{
}

QString ReverseForward::remoteEndpoint() const
{
    return m_state == State::Listening ? formatEndpoint(m_spec.bindHost, m_remotePort) : QString();
}

void ReverseForward::setPending(quint32 requestId)
{
    m_state = State::Pending;
    m_requestId = requestId;
    m_remotePort = 0;
    m_error.clear();
}

void ReverseForward::setListening(quint16 remotePort)
{
    m_state = State::Listening;
    m_remotePort = remotePort;
    m_error.clear();
    Q_EMIT ready(remotePort);
}

void ReverseForward::setFailed(const QString &reason)
{
    // The remote forgets a refused request; there is nothing to cancel later.
    m_state = State::Failed;
    m_requestId = 0;
    m_remotePort = 0;
    m_error = reason;
    Q_EMIT failed(reason);
}

} // namespace wstunnel
