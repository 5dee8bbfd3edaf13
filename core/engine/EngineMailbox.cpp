#include "EngineMailbox.h"

#include <utility>

namespace wstunnel {

EngineMailbox::EngineMailbox(int maxEvents, QObject *parent)
    : QObject(parent)
    , m_maxEvents(maxEvents)
{
}

void EngineMailbox::post(Command command)
{
    // The signals are connected queued: emitting only posts an event, never runs a slot here.
    const std::lock_guard<std::mutex> lock(m_mutex);
    const bool wake = m_commands.empty();
    m_commands.push_back(std::move(command));
    if (wake)
        Q_EMIT commandsPosted();
}

void EngineMailbox::publish(EngineSnapshot snapshot, QList<EngineEvent> events)
{
    const std::lock_guard<std::mutex> lock(m_mutex);
    const bool wake = !m_published;
    m_published = true;
    m_snapshot = std::move(snapshot);
    m_events.append(std::move(events));
    if (m_events.size() > m_maxEvents)
        m_events.remove(0, m_events.size() - m_maxEvents);
    if (wake)
        Q_EMIT snapshotPublished();
}

void EngineMailbox::markStarted()
{
    const std::lock_guard<std::mutex> lock(m_mutex);
    m_started = true;
    m_startedCondition.notify_all();
}

void EngineMailbox::waitUntilStarted()
{
    std::unique_lock<std::mutex> lock(m_mutex);
    m_startedCondition.wait(lock, [this] { return m_started; });
}

std::vector<EngineMailbox::Command> EngineMailbox::takeCommands()
{
    const std::lock_guard<std::mutex> lock(m_mutex);
    return std::exchange(m_commands, {});
}

bool EngineMailbox::takePublished(EngineSnapshot *snapshot, QList<EngineEvent> *events)
{
    const std::lock_guard<std::mutex> lock(m_mutex);
    if (!std::exchange(m_published, false))
        return false;
    *snapshot = std::move(m_snapshot);
    m_snapshot = EngineSnapshot();
    *events = std::exchange(m_events, {});
    return true;
}

} // namespace wstunnel
