#pragma once

#include "engine/EngineSnapshot.h"
#include "engine/Profile.h"

#include <QObject>
#include <QSet>

namespace wstunnel {

class SecretStore;
class TunnelEngine;

// `wstunnel --headless --profile FILE`: runs the switched-on mappings of a saved profile with
// the tokens the desktop app stored, prints a readiness line per forward like the -L form does,
// and ends the process on a forward that cannot be bound or a remote that refuses us.
class ProfileRunner : public QObject
{
    Q_OBJECT

public:
    explicit ProfileRunner(QObject *parent = nullptr);

    // Returns false with error set when the profile cannot be read, runs nothing or a token of
    // its remotes cannot be read from secrets.
    bool start(const QString &path, SecretStore &secrets, QString *error);

    // Why the run ended with a non-zero exit code, for the last line on stderr.
    QString failureReason() const { return m_failureReason; }

Q_SIGNALS:
    void finished(int exitCode);

private:
    void onSnapshot(const EngineSnapshot &snapshot);

    TunnelEngine *m_engine;
    Profile m_profile;
    QSet<QString> m_reported;
    QString m_failureReason;
};

} // namespace wstunnel
