#pragma once

#include "engine/EngineEvent.h"
#include "engine/EngineSnapshot.h"
#include "engine/Profile.h"

#include <QByteArray>
#include <QHash>
#include <QObject>

namespace wstunnel {

class SecretStore;
class TunnelEngine;

// Owns the profile being edited, its tokens and the engine that runs it. Every edit goes
// through here: it is applied to the engine at once and saved, unless the profile on disk could
// not be read, which is never overwritten without the user's say.
class AppController : public QObject
{
    Q_OBJECT

public:
    AppController(const QString &profilePath, SecretStore *secrets, QObject *parent = nullptr);
    ~AppController() override;

    // Reads the profile, or starts the first-run profile when there is none yet.
    void load();
    const Profile &profile() const { return m_profile; }
    QString profilePath() const { return m_profilePath; }
    TunnelEngine *engine() const { return m_engine; }
    EngineSnapshot snapshot() const;
    QByteArray token(const QString &remoteId) const { return m_tokens.value(remoteId); }

    // Set when the profile file exists but cannot be used; saving is off until the user decides.
    QString loadError() const { return m_loadError; }
    bool isSavingBlocked() const { return !m_loadError.isEmpty(); }
    // Keeps the unreadable file under a new name and starts saving again.
    bool setAsideUnreadableProfile(QString *error);

    void setRemote(const RemoteConfig &remote, const QByteArray &token);
    void removeRemote(const QString &remoteId);
    void setMapping(const MappingConfig &mapping);
    void insertMapping(int index, const MappingConfig &mapping);
    // Appends them all with one save and one apply.
    void appendMappings(const QList<MappingConfig> &mappings);
    void removeMapping(const QString &mappingId);
    void moveMapping(const QString &mappingId, int offset);
    void setMappingEnabled(const QString &mappingId, bool enabled);
    void setAllEnabled(bool enabled);

    // The current profile is replaced only when the file is fully valid.
    bool importProfile(const QString &path, QString *error);
    bool exportProfile(const QString &path, QString *error) const;

Q_SIGNALS:
    void profileChanged();
    void snapshotUpdated(const wstunnel::EngineSnapshot &snapshot);
    void eventsRecorded(const QList<wstunnel::EngineEvent> &events);
    // Saving or a secret failed; the message is for the user.
    void problem(const QString &message);

private:
    void commit();

    QString m_profilePath;
    SecretStore *m_secrets;
    TunnelEngine *m_engine;
    Profile m_profile;
    QHash<QString, QByteArray> m_tokens;
    QString m_loadError;
};

} // namespace wstunnel
