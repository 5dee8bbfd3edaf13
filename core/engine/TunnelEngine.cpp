#include "TunnelEngine.h"

#include "EngineMailbox.h"
#include "EngineWorker.h"

#include <QCoreApplication>
#include <QThread>

#include <openssl/crypto.h>

#include <condition_variable>
#include <mutex>

namespace wstunnel {

TunnelEngine::TunnelEngine(QObject *parent, int snapshotIntervalMs)
    : QObject(parent)
    , m_mailbox(new EngineMailbox(EngineWorker::kMaxPendingEvents, this))
    , m_thread(new QThread(this))
    , m_worker(new EngineWorker(snapshotIntervalMs, m_mailbox))
{
    qRegisterMetaType<EngineSnapshot>();
    qRegisterMetaType<QList<EngineEvent>>();
    m_thread->setObjectName(QStringLiteral("wstunnel engine"));
    m_worker->moveToThread(m_thread);
    // Connected before the thread starts, so that it sees them complete.
    connect(m_thread, &QThread::started, m_worker, &EngineWorker::start);
    connect(m_mailbox, &EngineMailbox::commandsPosted, m_worker, &EngineWorker::runCommands,
            Qt::QueuedConnection);
    connect(m_mailbox, &EngineMailbox::snapshotPublished, this, &TunnelEngine::takePublished,
            Qt::QueuedConnection);
    m_thread->start();
    m_mailbox->waitUntilStarted();
}

TunnelEngine::~TunnelEngine()
{
    // The worker's sockets and timers belong to its thread and must end there; the emptied
    // worker then comes back to this thread to be deleted. The thread ends its own event loop:
    // a quit() from here would wake it once more, past the mailbox's mutex.
    QThread *home = QThread::currentThread();
    std::mutex doneMutex;
    std::condition_variable doneCondition;
    bool done = false;
    m_mailbox->post([&, home](EngineWorker &worker) {
        worker.shutdown();
        worker.moveToThread(home);
        // Qt's threads are detached: OpenSSL would free this thread's state in a thread-exit
        // handler that may run after wait() below returned, while the main thread's exit runs
        // OpenSSL's cleanup, which frees it too (AddressSanitizer caught the double free).
        // The engine thread uses OpenSSL (every socket loads Qt's TLS backend), so free it here,
        // after the sockets the shutdown left to deleteLater().
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
        OPENSSL_thread_stop();
        QThread::currentThread()->quit();
        const std::lock_guard<std::mutex> lock(doneMutex);
        done = true;
        doneCondition.notify_one();
    });
    {
        std::unique_lock<std::mutex> lock(doneMutex);
        doneCondition.wait(lock, [&] { return done; });
    }
    m_thread->wait();
    delete m_worker;
}

void TunnelEngine::apply(const Profile &profile, const QHash<QString, QByteArray> &tokens)
{
    // The engine gets lists of its own: the caller may edit its profile in place right after, and
    // whether shared data may be edited in place is checked with a relaxed read of its reference
    // count, which orders nothing after the engine's reads (ThreadSanitizer reports it).
    QList<RemoteConfig> remotes = profile.remotes;
    remotes.detach();
    QList<MappingConfig> mappings = profile.mappings;
    mappings.detach();
    QHash<QString, QByteArray> ownTokens = tokens;
    ownTokens.detach();
    m_mailbox->post([remotes = std::move(remotes), tokens = std::move(ownTokens),
                     mappings = std::move(mappings)](EngineWorker &worker) {
        worker.apply(remotes, tokens, mappings);
    });
}

void TunnelEngine::closeChannel(const QString &mappingId, quint32 channelId)
{
    m_mailbox->post([mappingId, channelId](EngineWorker &worker) {
        worker.closeChannel(mappingId, channelId);
    });
}

void TunnelEngine::takePublished()
{
    QList<EngineEvent> events;
    if (!m_mailbox->takePublished(&m_snapshot, &events))
        return;
    Q_EMIT snapshotUpdated(m_snapshot);
    if (!events.isEmpty())
        Q_EMIT eventsRecorded(events);
}

} // namespace wstunnel
