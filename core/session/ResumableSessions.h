#pragma once

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

namespace wstunnel {

class TunnelSession;

// The acceptor's sessions that may be resumed, each with the identity that authenticated it. A
// fresh session whose peer asks to resume one is matched here: same identity, the right secret
// (compared in constant time), and the ticket is good once, as the resumed session issues a new
// one. A refused request leaves the held session as it was.
class ResumableSessions : public QObject
{
    Q_OBJECT

public:
    using QObject::QObject;

    // Once the session has issued its ticket (TunnelSession::canResume()); it is forgotten when
    // it ends.
    void add(TunnelSession *session, const QString &identity);
    // Answers the resume request of fresh, a session authenticated as identity: hands its link
    // to the session it names, or refuses.
    void resume(TunnelSession *fresh, const QString &identity, const QByteArray &sessionId,
                const QByteArray &secret, quint64 received);
    // Sessions that lost their link and wait for a resume.
    int heldCount() const;
    int heldCount(const QString &identity) const;
    // Ends the sessions of identity held longest until at most max are held.
    void limitHeld(const QString &identity, int max);

private:
    struct Entry
    {
        QPointer<TunnelSession> session;
        QString identity;
    };
    void prune();

    QList<Entry> m_entries;
};

} // namespace wstunnel
