#include "AppController.h"

#include "UiLogging.h"
#include "engine/ProfileStore.h"
#include "engine/SecretStore.h"
#include "engine/TunnelEngine.h"

#include <QDateTime>
#include <QDir>
#include <QFile>

namespace wstunnel {

namespace {

QString secretKey(const QString &remoteId)
{
    return QStringLiteral("remote/%1/token").arg(remoteId);
}

} // namespace

AppController::AppController(const QString &profilePath, SecretStore *secrets, QObject *parent)
    : QObject(parent)
    , m_profilePath(profilePath)
    , m_secrets(secrets)
    , m_engine(new TunnelEngine(this))
{
    connect(m_engine, &TunnelEngine::snapshotUpdated, this, &AppController::snapshotUpdated);
    connect(m_engine, &TunnelEngine::eventsRecorded, this, &AppController::eventsRecorded);
}

AppController::~AppController() = default;

EngineSnapshot AppController::snapshot() const
{
    return m_engine->snapshot();
}

void AppController::load()
{
    m_loadError.clear();
    if (QFile::exists(m_profilePath)) {
        QString error;
        if (const std::optional<Profile> profile = ProfileStore::read(m_profilePath, &error)) {
            m_profile = *profile;
        } else {
            m_loadError = error;
            m_profile = Profile::firstRun();
            qCWarning(lcUi).noquote() << error;
        }
    } else {
        m_profile = Profile::firstRun();
        commit();
    }
    m_tokens.clear();
    for (const RemoteConfig &remote : std::as_const(m_profile.remotes)) {
        if (remote.builtIn)
            continue;
        QString error;
        if (const std::optional<QByteArray> token = m_secrets->read(secretKey(remote.id), &error))
            m_tokens.insert(remote.id, *token);
        else
            Q_EMIT problem(error);
    }
    m_engine->apply(m_profile, m_tokens);
    Q_EMIT profileChanged();
}

bool AppController::setAsideUnreadableProfile(QString *error)
{
    const QString aside =
        QStringLiteral("%1.unreadable-%2")
            .arg(m_profilePath,
                 QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-hhmmss")));
    if (QFile::exists(m_profilePath) && !QFile::rename(m_profilePath, aside)) {
        *error = tr("Cannot rename %1").arg(QDir::toNativeSeparators(m_profilePath));
        return false;
    }
    m_loadError.clear();
    commit();
    return true;
}

void AppController::setRemote(const RemoteConfig &remote, const QByteArray &token)
{
    const int index = m_profile.remoteIndex(remote.id);
    if (index < 0)
        m_profile.remotes.append(remote);
    else
        m_profile.remotes[index] = remote;
    if (!remote.builtIn && token != m_tokens.value(remote.id)) {
        QString error;
        if (!m_secrets->write(secretKey(remote.id), token, &error))
            Q_EMIT problem(error);
        m_tokens.insert(remote.id, token);
    }
    commit();
}

void AppController::removeRemote(const QString &remoteId)
{
    const int index = m_profile.remoteIndex(remoteId);
    if (index < 0)
        return;
    m_profile.remotes.removeAt(index);
    m_profile.mappings.removeIf(
        [&remoteId](const MappingConfig &mapping) { return mapping.remoteId == remoteId; });
    QString error;
    if (!m_secrets->remove(secretKey(remoteId), &error))
        Q_EMIT problem(error);
    m_tokens.remove(remoteId);
    commit();
}

void AppController::setMapping(const MappingConfig &mapping)
{
    const int index = m_profile.mappingIndex(mapping.id);
    if (index < 0)
        m_profile.mappings.append(mapping);
    else
        m_profile.mappings[index] = mapping;
    commit();
}

void AppController::insertMapping(int index, const MappingConfig &mapping)
{
    m_profile.mappings.insert(qBound(0, index, int(m_profile.mappings.size())), mapping);
    commit();
}

void AppController::appendMappings(const QList<MappingConfig> &mappings)
{
    m_profile.mappings.append(mappings);
    commit();
}

void AppController::removeMapping(const QString &mappingId)
{
    const int index = m_profile.mappingIndex(mappingId);
    if (index < 0)
        return;
    m_profile.mappings.removeAt(index);
    commit();
}

void AppController::moveMapping(const QString &mappingId, int offset)
{
    const int index = m_profile.mappingIndex(mappingId);
    const int target = index + offset;
    if (index < 0 || target < 0 || target >= m_profile.mappings.size())
        return;
    m_profile.mappings.move(index, target);
    commit();
}

void AppController::setMappingEnabled(const QString &mappingId, bool enabled)
{
    const int index = m_profile.mappingIndex(mappingId);
    if (index < 0 || m_profile.mappings.at(index).enabled == enabled)
        return;
    m_profile.mappings[index].enabled = enabled;
    commit();
}

void AppController::setAllEnabled(bool enabled)
{
    for (MappingConfig &mapping : m_profile.mappings)
        mapping.enabled = enabled;
    commit();
}

bool AppController::importProfile(const QString &path, QString *error)
{
    const std::optional<Profile> imported = ProfileStore::read(path, error);
    if (!imported)
        return false;
    m_profile = *imported;
    for (const RemoteConfig &remote : std::as_const(m_profile.remotes)) {
        if (remote.builtIn || m_tokens.contains(remote.id))
            continue;
        QString secretError;
        if (const std::optional<QByteArray> token =
                m_secrets->read(secretKey(remote.id), &secretError))
            m_tokens.insert(remote.id, *token);
    }
    commit();
    return true;
}

bool AppController::exportProfile(const QString &path, QString *error) const
{
    return ProfileStore::write(path, m_profile, error);
}

void AppController::commit()
{
    m_engine->apply(m_profile, m_tokens);
    if (!isSavingBlocked()) {
        QString error;
        if (!ProfileStore::write(m_profilePath, m_profile, &error))
            Q_EMIT problem(error);
    }
    Q_EMIT profileChanged();
}

} // namespace wstunnel
