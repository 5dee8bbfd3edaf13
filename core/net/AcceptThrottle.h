#pragma once

#include <QAbstractSocket>
#include <QObject>
#include <QTimer>

class QTcpServer;

namespace wstunnel {

// Keeps a listening QTcpServer alive when accept fails, typically for lack of file descriptors:
// Qt then stops accepting for good. The throttle refuses what waits in the backlog (with a
// descriptor kept in reserve for that), logs the episode once with the limit and what to do,
// and accepts again after a pause, so that nobody hangs and no core spins.
class AcceptThrottle : public QObject
{
    Q_OBJECT

public:
    static constexpr int kDefaultPauseMs = 250;

    explicit AcceptThrottle(QTcpServer *server, int pauseMs = kDefaultPauseMs);
    ~AcceptThrottle() override;

    bool isExhausted() const { return m_exhausted; }
    int refusedInEpisode() const { return m_refused; }

Q_SIGNALS:
    // Descriptors ran out: an owner closes what it can spare before accepting resumes.
    void descriptorsExhausted();

private:
    void onAcceptError(QAbstractSocket::SocketError error);
    void onNewConnection();
    int refuseBacklog();

    QTcpServer *m_server;
    QTimer m_resumeTimer;
    int m_reserveDescriptor;
    bool m_exhausted = false;
    int m_refused = 0;
};

} // namespace wstunnel
