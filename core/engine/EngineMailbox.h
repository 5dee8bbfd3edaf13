#pragma once

#include "EngineEvent.h"
#include "EngineSnapshot.h"

#include <QList>
#include <QObject>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

namespace wstunnel {

class EngineWorker;

// What the engine's owner and the engine's thread hand each other: commands one way; the latest
// snapshot and the events since the previous one the other way. The data crosses under a
// std::mutex, and Qt's queued signals only wake the receiving side, carrying nothing: Qt's event
// queue synchronises through futexes that ThreadSanitizer cannot see (Debian's Qt is not built
// for it), so data carried there would look unsynchronised to it, this mutex does not. A snapshot
// the owner had no time to take is replaced by the next; events add up, at most maxEvents. A wake
// is sent under the mutex too: it writes to the receiving thread's wakeup descriptor, which
// ThreadSanitizer then sees ordered before that thread takes what the wake announced (and so
// before the thread closes the descriptor at its end).
class EngineMailbox : public QObject
{
    Q_OBJECT

public:
    using Command = std::function<void(EngineWorker &)>;

    explicit EngineMailbox(int maxEvents, QObject *parent = nullptr);

    // From the owner's thread.
    void post(Command command);
    // From the engine's thread.
    void publish(EngineSnapshot snapshot, QList<EngineEvent> events);

    // From the engine's thread once its event loop can be woken (its event dispatcher exists);
    // the owner waits for it before it wakes that thread the first time.
    void markStarted();
    void waitUntilStarted();

    // What the receiving side runs when woken; empty when an earlier wake took it already.
    std::vector<Command> takeCommands();
    // False when nothing was published since the last call.
    bool takePublished(EngineSnapshot *snapshot, QList<EngineEvent> *events);

Q_SIGNALS:
    // Only when nothing was waiting before: the wake under way takes what follows it too.
    void commandsPosted();
    void snapshotPublished();

private:
    const int m_maxEvents;
    std::mutex m_mutex;
    std::condition_variable m_startedCondition;
    bool m_started = false;
    std::vector<Command> m_commands;
    bool m_published = false;
    EngineSnapshot m_snapshot;
    QList<EngineEvent> m_events;
};

} // namespace wstunnel
