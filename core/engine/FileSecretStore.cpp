#include "FileSecretStore.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QStandardPaths>

namespace wstunnel {

namespace {

constexpr QFileDevice::Permissions kOwnerOnly = QFileDevice::ReadOwner | QFileDevice::WriteOwner;

} // namespace

FileSecretStore::FileSecretStore(const QString &filePath)
    : m_filePath(filePath)
{
}

QString FileSecretStore::defaultFilePath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
           QStringLiteral("/tokens.json");
}

std::optional<QByteArray> FileSecretStore::read(const QString &key, QString *error)
{
    QFile file(m_filePath);
    if (!file.exists())
        return QByteArray();
    if (!file.open(QIODevice::ReadOnly)) {
        *error =
            tr("Cannot read %1: %2").arg(QDir::toNativeSeparators(m_filePath), file.errorString());
        return std::nullopt;
    }
    const QJsonObject tokens = QJsonDocument::fromJson(file.readAll()).object();
    return tokens.value(key).toString().toUtf8();
}

bool FileSecretStore::write(const QString &key, const QByteArray &secret, QString *error)
{
    if (secret.isEmpty())
        return remove(key, error);
    return update(key, secret, error);
}

bool FileSecretStore::remove(const QString &key, QString *error)
{
    return update(key, std::nullopt, error);
}

bool FileSecretStore::update(const QString &key, const std::optional<QByteArray> &secret,
                             QString *error) const
{
    QJsonObject tokens;
    QFile existing(m_filePath);
    if (existing.open(QIODevice::ReadOnly))
        tokens = QJsonDocument::fromJson(existing.readAll()).object();
    else if (!secret)
        return true;
    if (!secret && !tokens.contains(key))
        return true;
    if (secret)
        tokens.insert(key, QString::fromUtf8(*secret));
    else
        tokens.remove(key);

    const QString folder = QFileInfo(m_filePath).absolutePath();
    if (!QDir().mkpath(folder)) {
        *error = tr("Cannot create the folder %1").arg(QDir::toNativeSeparators(folder));
        return false;
    }
    QFile::setPermissions(folder, kOwnerOnly | QFileDevice::ExeOwner);
    QSaveFile file(m_filePath);
    if (!file.open(QIODevice::WriteOnly) || !file.setPermissions(kOwnerOnly)) {
        *error =
            tr("Cannot write %1: %2").arg(QDir::toNativeSeparators(m_filePath), file.errorString());
        return false;
    }
    file.write(QJsonDocument(tokens).toJson(QJsonDocument::Compact));
    if (!file.commit()) {
        *error =
            tr("Cannot write %1: %2").arg(QDir::toNativeSeparators(m_filePath), file.errorString());
        return false;
    }
    return true;
}

} // namespace wstunnel
