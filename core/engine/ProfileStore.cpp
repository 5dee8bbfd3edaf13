#include "ProfileStore.h"

#include "EngineLogging.h"
#include "hub/AgentName.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QSet>
#include <QStandardPaths>

namespace wstunnel {

namespace {

const QLatin1String kFormatName("wstunnel-profile");

QString proxyModeName(ClientSettings::ProxyMode mode)
{
    switch (mode) {
    case ClientSettings::ProxyMode::System:
        return QStringLiteral("system");
    case ClientSettings::ProxyMode::None:
        return QStringLiteral("none");
    case ClientSettings::ProxyMode::Manual:
        return QStringLiteral("manual");
    }
    return QStringLiteral("system");
}

QJsonObject remoteToJson(const RemoteConfig &remote)
{
    QJsonObject object;
    object.insert(QStringLiteral("id"), remote.id);
    object.insert(QStringLiteral("name"), remote.name);
    if (remote.builtIn)
        object.insert(QStringLiteral("builtIn"), true);
    else
        object.insert(QStringLiteral("url"), remote.url.toString());
    // Only when set, so that profiles without one stay as older versions wrote them.
    if (!remote.agent.isEmpty())
        object.insert(QStringLiteral("agent"), remote.agent);
    QJsonObject tls;
    tls.insert(QStringLiteral("caFile"), remote.caFile);
    tls.insert(QStringLiteral("pinSha256"), QString::fromLatin1(remote.pinSha256));
    tls.insert(QStringLiteral("trustedCertificateSha256"),
               QString::fromLatin1(remote.trustedCertificateSha256));
    tls.insert(QStringLiteral("clientCertFile"), remote.clientCertFile);
    tls.insert(QStringLiteral("clientKeyFile"), remote.clientKeyFile);
    object.insert(QStringLiteral("tls"), tls);
    QJsonObject proxy;
    proxy.insert(QStringLiteral("mode"), proxyModeName(remote.proxyMode));
    proxy.insert(QStringLiteral("url"), remote.proxyUrl.toString());
    object.insert(QStringLiteral("proxy"), proxy);
    QJsonArray headers;
    for (const auto &header : remote.headers) {
        headers.append(QJsonObject{{QStringLiteral("name"), QString::fromLatin1(header.first)},
                                   {QStringLiteral("value"), QString::fromUtf8(header.second)}});
    }
    object.insert(QStringLiteral("headers"), headers);
    return object;
}

QString directionName(ForwardSpec::Direction direction)
{
    switch (direction) {
    case ForwardSpec::Direction::Local:
        return QStringLiteral("local");
    case ForwardSpec::Direction::Reverse:
        return QStringLiteral("reverse");
    case ForwardSpec::Direction::Dynamic:
        return QStringLiteral("dynamic");
    }
    return QString();
}

QJsonObject mappingToJson(const MappingConfig &mapping)
{
    QJsonObject object;
    object.insert(QStringLiteral("id"), mapping.id);
    object.insert(QStringLiteral("name"), mapping.name);
    object.insert(QStringLiteral("remote"), mapping.remoteId);
    object.insert(QStringLiteral("direction"), directionName(mapping.direction));
    object.insert(QStringLiteral("protocol"), mapping.protocol == MappingConfig::Protocol::Tcp
                                                  ? QStringLiteral("tcp")
                                                  : QStringLiteral("udp"));
    object.insert(QStringLiteral("bindHost"), mapping.bindHost);
    object.insert(QStringLiteral("bindPort"), mapping.bindPort);
    object.insert(QStringLiteral("targetHost"), mapping.targetHost);
    object.insert(QStringLiteral("targetPort"), mapping.targetPort);
    object.insert(QStringLiteral("enabled"), mapping.enabled);
    return object;
}

bool readPort(const QJsonValue &value, bool allowZero, quint16 *port)
{
    if (!value.isDouble())
        return false;
    const double number = value.toDouble();
    // The range first: converting a double beyond int's range is undefined.
    if (!(number >= (allowZero ? 0 : 1) && number <= 65535) || number != double(int(number)))
        return false;
    *port = quint16(number);
    return true;
}

} // namespace

QString ProfileStore::defaultPath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppConfigLocation) +
           QStringLiteral("/profile.json");
}

std::optional<Profile> ProfileStore::read(const QString &path, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = tr("Cannot read %1: %2").arg(QDir::toNativeSeparators(path), file.errorString());
        return std::nullopt;
    }
    QString reason;
    std::optional<Profile> profile = fromJson(file.readAll(), &reason);
    if (!profile)
        *error = tr("%1 is not a usable profile: %2").arg(QDir::toNativeSeparators(path), reason);
    return profile;
}

bool ProfileStore::write(const QString &path, const Profile &profile, QString *error)
{
    const QFileInfo info(path);
    if (!QDir().mkpath(info.absolutePath())) {
        *error =
            tr("Cannot create the folder %1").arg(QDir::toNativeSeparators(info.absolutePath()));
        return false;
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        *error = tr("Cannot write %1: %2").arg(QDir::toNativeSeparators(path), file.errorString());
        return false;
    }
    file.write(toJson(profile));
    if (!file.commit()) {
        *error = tr("Cannot write %1: %2").arg(QDir::toNativeSeparators(path), file.errorString());
        return false;
    }
    qCDebug(lcEngine).noquote() << QStringLiteral("profile saved to %1").arg(path);
    return true;
}

QByteArray ProfileStore::toJson(const Profile &profile)
{
    QJsonArray remotes;
    for (const RemoteConfig &remote : profile.remotes)
        remotes.append(remoteToJson(remote));
    QJsonArray mappings;
    for (const MappingConfig &mapping : profile.mappings)
        mappings.append(mappingToJson(mapping));
    QJsonObject root;
    root.insert(QStringLiteral("format"), kFormatName);
    root.insert(QStringLiteral("version"), kFormatVersion);
    root.insert(QStringLiteral("remotes"), remotes);
    root.insert(QStringLiteral("mappings"), mappings);
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

std::optional<Profile> ProfileStore::fromJson(const QByteArray &json, QString *error)
{
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        *error = tr("invalid JSON at offset %1 (%2)")
                     .arg(parseError.offset)
                     .arg(parseError.errorString());
        return std::nullopt;
    }
    const QJsonObject root = document.object();
    if (!document.isObject() || root.value(QStringLiteral("format")).toString() != kFormatName) {
        *error = tr("the file is not a WSTunnel profile");
        return std::nullopt;
    }
    const int version = root.value(QStringLiteral("version")).toInt(0);
    if (version > kFormatVersion) {
        *error = tr("it was written by a newer WSTunnel (profile version %1, this version reads "
                    "up to %2)")
                     .arg(version)
                     .arg(kFormatVersion);
        return std::nullopt;
    }
    if (version < 1) {
        *error = tr("it has no valid version number");
        return std::nullopt;
    }

    Profile profile;
    QSet<QString> remoteIds;
    const QJsonArray remotes = root.value(QStringLiteral("remotes")).toArray();
    for (int i = 0; i < remotes.size(); ++i) {
        const QJsonObject object = remotes.at(i).toObject();
        RemoteConfig remote;
        remote.id = object.value(QStringLiteral("id")).toString();
        remote.name = object.value(QStringLiteral("name")).toString();
        remote.builtIn = object.value(QStringLiteral("builtIn")).toBool(false);
        // The built-in remote has no URL, and toJson() writes none for it.
        if (!remote.builtIn)
            remote.url = QUrl(object.value(QStringLiteral("url")).toString(), QUrl::StrictMode);
        if (remote.id.isEmpty() || remoteIds.contains(remote.id)) {
            *error = tr("remote %1 has a missing or duplicate id").arg(i + 1);
            return std::nullopt;
        }
        const QString scheme = remote.url.scheme();
        if (!remote.builtIn &&
            (!remote.url.isValid() || remote.url.host().isEmpty() ||
             (scheme != QLatin1String("ws") && scheme != QLatin1String("wss")))) {
            *error = tr("remote \"%1\" has no ws:// or wss:// URL").arg(remote.name);
            return std::nullopt;
        }
        remote.agent = object.value(QStringLiteral("agent")).toString();
        if (!remote.agent.isEmpty() && !AgentName::isValid(remote.agent)) {
            *error = tr("remote \"%1\" names the agent \"%2\", which is no agent name")
                         .arg(remote.name, remote.agent);
            return std::nullopt;
        }
        const QJsonObject tls = object.value(QStringLiteral("tls")).toObject();
        remote.caFile = tls.value(QStringLiteral("caFile")).toString();
        remote.pinSha256 = tls.value(QStringLiteral("pinSha256")).toString().toLatin1();
        remote.trustedCertificateSha256 =
            tls.value(QStringLiteral("trustedCertificateSha256")).toString().toLatin1();
        remote.clientCertFile = tls.value(QStringLiteral("clientCertFile")).toString();
        remote.clientKeyFile = tls.value(QStringLiteral("clientKeyFile")).toString();
        const QJsonObject proxy = object.value(QStringLiteral("proxy")).toObject();
        const QString mode = proxy.value(QStringLiteral("mode")).toString(QStringLiteral("system"));
        if (mode == QLatin1String("system")) {
            remote.proxyMode = ClientSettings::ProxyMode::System;
        } else if (mode == QLatin1String("none")) {
            remote.proxyMode = ClientSettings::ProxyMode::None;
        } else if (mode == QLatin1String("manual")) {
            remote.proxyMode = ClientSettings::ProxyMode::Manual;
        } else {
            *error = tr("remote \"%1\" has an unknown proxy mode \"%2\"").arg(remote.name, mode);
            return std::nullopt;
        }
        remote.proxyUrl = QUrl(proxy.value(QStringLiteral("url")).toString());
        // An invalid URL would be saved as an empty one: refused, like every other misreading.
        if (!remote.proxyUrl.isEmpty() && !remote.proxyUrl.isValid()) {
            *error = tr("remote \"%1\" has an invalid proxy URL").arg(remote.name);
            return std::nullopt;
        }
        const QJsonArray headers = object.value(QStringLiteral("headers")).toArray();
        for (const QJsonValue &header : headers) {
            const QJsonObject pair = header.toObject();
            remote.headers.append({pair.value(QStringLiteral("name")).toString().toLatin1(),
                                   pair.value(QStringLiteral("value")).toString().toUtf8()});
        }
        remoteIds.insert(remote.id);
        profile.remotes.append(remote);
    }

    QSet<QString> mappingIds;
    const QJsonArray mappings = root.value(QStringLiteral("mappings")).toArray();
    for (int i = 0; i < mappings.size(); ++i) {
        const QJsonObject object = mappings.at(i).toObject();
        MappingConfig mapping;
        mapping.id = object.value(QStringLiteral("id")).toString();
        mapping.name = object.value(QStringLiteral("name")).toString();
        mapping.remoteId = object.value(QStringLiteral("remote")).toString();
        if (mapping.id.isEmpty() || mappingIds.contains(mapping.id)) {
            *error = tr("mapping %1 has a missing or duplicate id").arg(i + 1);
            return std::nullopt;
        }
        if (!remoteIds.contains(mapping.remoteId)) {
            *error = tr("mapping \"%1\" refers to an unknown remote").arg(mapping.name);
            return std::nullopt;
        }
        const QString direction = object.value(QStringLiteral("direction")).toString();
        if (direction == QLatin1String("local")) {
            mapping.direction = ForwardSpec::Direction::Local;
        } else if (direction == QLatin1String("reverse")) {
            mapping.direction = ForwardSpec::Direction::Reverse;
        } else if (direction == QLatin1String("dynamic")) {
            mapping.direction = ForwardSpec::Direction::Dynamic;
        } else {
            *error = tr("mapping \"%1\" has an unknown direction").arg(mapping.name);
            return std::nullopt;
        }
        const QString protocol = object.value(QStringLiteral("protocol")).toString();
        if (protocol == QLatin1String("tcp")) {
            mapping.protocol = MappingConfig::Protocol::Tcp;
        } else if (protocol == QLatin1String("udp")) {
            mapping.protocol = MappingConfig::Protocol::Udp;
        } else {
            *error = tr("mapping \"%1\" has an unknown protocol").arg(mapping.name);
            return std::nullopt;
        }
        mapping.bindHost = object.value(QStringLiteral("bindHost")).toString();
        mapping.targetHost = object.value(QStringLiteral("targetHost")).toString();
        // A dynamic mapping's clients name their targets.
        const bool hasTarget = mapping.direction != ForwardSpec::Direction::Dynamic;
        if (mapping.bindHost.isEmpty() || (hasTarget && mapping.targetHost.isEmpty()) ||
            !readPort(object.value(QStringLiteral("bindPort")), true, &mapping.bindPort) ||
            (hasTarget &&
             !readPort(object.value(QStringLiteral("targetPort")), false, &mapping.targetPort))) {
            *error = tr("mapping \"%1\" has an invalid address or port").arg(mapping.name);
            return std::nullopt;
        }
        mapping.enabled = object.value(QStringLiteral("enabled")).toBool(false);
        mappingIds.insert(mapping.id);
        profile.mappings.append(mapping);
    }
    return profile;
}

} // namespace wstunnel
