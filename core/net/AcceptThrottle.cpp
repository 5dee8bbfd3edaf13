#include "AcceptThrottle.h"

#include "Logging.h"
#include "util/DescriptorLimit.h"

#include <QEvent>
#include <QSocketNotifier>
#include <QTcpServer>

#include <cerrno>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wstunnel {

namespace {

int openReserve()
{
    return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

// Whether accept could get a descriptor now: it fails with EMFILE or ENFILE just as this does.
bool descriptorAvailable()
{
    const int probe = openReserve();
    if (probe >= 0) {
        ::close(probe);
        return true;
    }
    return errno != EMFILE && errno != ENFILE;
}

} // namespace

AcceptThrottle::AcceptThrottle(QTcpServer *server, int pauseMs)
    : QObject(server)
    , m_server(server)
    , m_reserveDescriptor(openReserve())
{
    m_resumeTimer.setSingleShot(true);
    m_resumeTimer.setInterval(pauseMs);
    connect(&m_resumeTimer, &QTimer::timeout, m_server, &QTcpServer::resumeAccepting);
    connect(server, &QTcpServer::acceptError, this, &AcceptThrottle::onAcceptError);
    connect(server, &QTcpServer::newConnection, this, &AcceptThrottle::onNewConnection);
}

AcceptThrottle::~AcceptThrottle()
{
    if (m_reserveDescriptor >= 0)
        ::close(m_reserveDescriptor);
}

void AcceptThrottle::arm()
{
    const QList<QSocketNotifier *> notifiers = m_server->findChildren<QSocketNotifier *>();
    for (QSocketNotifier *notifier : notifiers) {
        if (notifier->type() == QSocketNotifier::Read) {
            notifier->removeEventFilter(this);
            notifier->installEventFilter(this);
        }
    }
}

bool AcceptThrottle::eventFilter(QObject *watched, QEvent *event)
{
    if (event->type() != QEvent::SockAct || descriptorAvailable())
        return QObject::eventFilter(watched, event);
    Q_EMIT descriptorsExhausted();
    // What the owner closed may be enough.
    if (descriptorAvailable())
        return QObject::eventFilter(watched, event);
    m_server->pauseAccepting();
    m_resumeTimer.start();
    exhausted();
    return true;
}

void AcceptThrottle::onAcceptError(QAbstractSocket::SocketError error)
{
    // QTcpServer has paused itself; without a resume the port would stay deaf for good.
    m_resumeTimer.start();
    if (error != QAbstractSocket::SocketResourceError)
        return;
    Q_EMIT descriptorsExhausted();
    exhausted();
}

void AcceptThrottle::exhausted()
{
    const int refused = refuseBacklog();
    m_refused += refused;
    if (m_exhausted)
        return;
    m_exhausted = true;
    qCWarning(lcNet).noquote()
        << QStringLiteral("out of file descriptors (limit %1) on %2:%3: refusing new connections "
                          "(%4 so far) and accepting again in %5 ms; raise the limit "
                          "(ulimit -n, or LimitNOFILE= in a systemd unit)")
               .arg(DescriptorLimit::current())
               .arg(m_server->serverAddress().toString())
               .arg(m_server->serverPort())
               .arg(refused)
               .arg(m_resumeTimer.interval());
}

void AcceptThrottle::onNewConnection()
{
    if (!m_exhausted)
        return;
    m_exhausted = false;
    qCInfo(lcNet).noquote() << QStringLiteral("accepting on %1:%2 again; %3 connections refused "
                                              "while out of file descriptors")
                                   .arg(m_server->serverAddress().toString())
                                   .arg(m_server->serverPort())
                                   .arg(m_refused);
    m_refused = 0;
}

int AcceptThrottle::refuseBacklog()
{
    // The reserve frees exactly one descriptor: each waiting connection is accepted into it and
    // closed at once, so its client learns now instead of waiting in the backlog.
    if (m_reserveDescriptor >= 0) {
        ::close(m_reserveDescriptor);
        m_reserveDescriptor = -1;
    }
    int refused = 0;
    const int listening = int(m_server->socketDescriptor());
    for (;;) {
        const int descriptor = ::accept4(listening, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (descriptor < 0)
            break;
        ::close(descriptor);
        ++refused;
    }
    m_reserveDescriptor = openReserve();
    return refused;
}

} // namespace wstunnel
