#include "ProfileRunner.h"

#include "common/CommandLineErrors.h"
#include "engine/ProfileStore.h"
#include "engine/SecretStore.h"
#include "engine/TunnelEngine.h"

#include <cstdio>

namespace wstunnel {

ProfileRunner::ProfileRunner(QObject *parent)
    : QObject(parent)
    , m_engine(new TunnelEngine(this))
{
    connect(m_engine, &TunnelEngine::snapshotUpdated, this, &ProfileRunner::onSnapshot);
}

bool ProfileRunner::start(const QString &path, SecretStore &secrets, QString *error)
{
    const std::optional<Profile> profile = ProfileStore::read(path, error);
    if (!profile)
        return false;
    m_profile = *profile;
    bool anyEnabled = false;
    for (const MappingConfig &mapping : std::as_const(m_profile.mappings))
        anyEnabled = anyEnabled || mapping.enabled;
    if (!anyEnabled) {
        *error = QStringLiteral("profile %1 has no mapping switched on").arg(path);
        return false;
    }
    const QByteArray environmentToken = qgetenv("WSTUNNEL_TOKEN").trimmed();
    QHash<QString, QByteArray> tokens;
    for (const RemoteConfig &remote : std::as_const(m_profile.remotes)) {
        if (remote.builtIn)
            continue;
        QString secretError;
        const std::optional<QByteArray> token =
            secrets.read(QStringLiteral("remote/%1/token").arg(remote.id), &secretError);
        if (!token) {
            *error = secretError;
            return false;
        }
        tokens.insert(remote.id, token->isEmpty() ? environmentToken : *token);
    }
    m_engine->apply(m_profile, tokens);
    return true;
}

void ProfileRunner::onSnapshot(const EngineSnapshot &snapshot)
{
    for (const MappingStats &stats : snapshot.mappings) {
        const int index = m_profile.mappingIndex(stats.id);
        if (index < 0 || stats.state == MappingState::Off)
            continue;
        const MappingConfig &mapping = m_profile.mappings.at(index);
        if (stats.state == MappingState::Error) {
            if (m_failureReason.isEmpty()) {
                m_failureReason = QStringLiteral("%1: %2").arg(
                    mapping.name, CommandLineErrors::describe(stats.error));
                Q_EMIT finished(1);
            }
            return;
        }
        if (m_reported.contains(stats.id))
            continue;
        const bool reverse = mapping.direction == ForwardSpec::Direction::Reverse;
        // A reverse mapping's port is known once the remote listens; the same line as -R then.
        if (reverse && stats.state != MappingState::Listening &&
            stats.state != MappingState::Active)
            continue;
        m_reported.insert(stats.id);
        printf("%sforwarding %s -> %s%s\n", reverse ? "reverse " : "",
               qPrintable(stats.listenEndpoint), qPrintable(mapping.targetEndpoint()),
               qPrintable(mapping.toSpec().transportSuffix()));
        fflush(stdout);
    }
}

} // namespace wstunnel
