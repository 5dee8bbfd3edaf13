#pragma once

#include <QAbstractSocket>
#include <QObject>
#include <QTimer>

class QTcpServer;

namespace wstunnel {

// Keeps a listening QTcpServer serving when descriptors run out: Qt would retry the failing
// accept in a busy loop (EMFILE counts as temporary) or, for other errors, stop accepting for
// good. The throttle sees a descriptor shortage before Qt's accept, pauses accepting, refuses
// what waits in the backlog (with a descriptor kept in reserve for that), logs the episode once
// with the limit and what to do, and accepts again after a pause: nobody hangs, no core spins.
class AcceptThrottle : public QObject
{
    Q_OBJECT

public:
    static constexpr int kDefaultPauseMs = 250;

    explicit AcceptThrottle(QTcpServer *server, int pauseMs = kDefaultPauseMs);
    ~AcceptThrottle() override;

    // Watches the server's listening socket; call after each successful listen().
    void arm();

    bool isExhausted() const { return m_exhausted; }
    int refusedInEpisode() const { return m_refused; }

Q_SIGNALS:
    // Descriptors ran out: an owner closes what it can spare before accepting resumes.
    void descriptorsExhausted();

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void exhausted();
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
