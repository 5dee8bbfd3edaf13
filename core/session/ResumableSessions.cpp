#include "ResumableSessions.h"

#include "Logging.h"
#include "TunnelSession.h"

namespace wstunnel {

void ResumableSessions::add(TunnelSession *session, const QString &identity)
{
    prune();
    m_entries.append(Entry{session, identity});
    connect(session, &TunnelSession::closed, this, [this] { prune(); });
}

void ResumableSessions::resume(TunnelSession *fresh, const QString &identity,
                               const QByteArray &sessionId, const QByteArray &secret,
                               quint64 received)
{
    prune();
    TunnelSession *held = nullptr;
    QString problem;
    for (const Entry &entry : std::as_const(m_entries)) {
        if (entry.session->sessionId() != sessionId)
            continue;
        if (entry.identity != identity)
            problem = QStringLiteral("the session belongs to another identity");
        else if (!entry.session->ticketMatches(secret))
            problem = QStringLiteral("wrong or used secret");
        else
            held = entry.session;
        break;
    }
    if (held)
        problem = held->resumeFrom(*fresh, received);
    else if (problem.isEmpty()) {
        qCWarning(lcSession).noquote()
            << QStringLiteral("%1 asked to resume a session not known here").arg(identity);
        fresh->refuseResume(FailureCode::NotAllowed,
                            QStringLiteral("no such session (it restarted, or gave up waiting "
                                           "for the connection to come back)"));
        return;
    }
    if (problem.isEmpty())
        return;
    // The same answer whatever failed, so a guesser learns nothing.
    qCWarning(lcSession).noquote()
        << QStringLiteral("refused to resume a session for %1: %2").arg(identity, problem);
    fresh->refuseResume(FailureCode::NotAllowed, QStringLiteral("resume refused"));
}

int ResumableSessions::heldCount() const
{
    int held = 0;
    for (const Entry &entry : m_entries)
        held += entry.session && entry.session->isHeld() ? 1 : 0;
    return held;
}

int ResumableSessions::heldCount(const QString &identity) const
{
    int held = 0;
    for (const Entry &entry : m_entries)
        held += entry.session && entry.identity == identity && entry.session->isHeld() ? 1 : 0;
    return held;
}

void ResumableSessions::limitHeld(const QString &identity, int max)
{
    prune();
    while (heldCount(identity) > max) {
        TunnelSession *longest = nullptr;
        for (const Entry &entry : std::as_const(m_entries)) {
            if (entry.identity == identity && entry.session->isHeld() &&
                (!longest || entry.session->heldMs() > longest->heldMs()))
                longest = entry.session;
        }
        longest->close(
            QStringLiteral("more than %1 sessions of %2 wait for a resume").arg(max).arg(identity));
        prune();
    }
}

void ResumableSessions::prune()
{
    m_entries.removeIf([](const Entry &entry) {
        return entry.session.isNull() || !entry.session->canResume() || entry.session->isEnded();
    });
}

} // namespace wstunnel
