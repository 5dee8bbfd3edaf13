#include "SecretStore.h"

#include "EngineLogging.h"

#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QStandardPaths>

#ifdef WSTUNNEL_HAVE_KEYCHAIN
#include <qt6keychain/keychain.h>
#endif

namespace wstunnel {

namespace {

const QLatin1String kService("wstunnel");
constexpr QFileDevice::Permissions kOwnerOnly = QFileDevice::ReadOwner | QFileDevice::WriteOwner;

#ifdef WSTUNNEL_HAVE_KEYCHAIN
// QtKeychain is asynchronous; secrets are read at start-up and written on save, rarely enough
// that waiting in a local loop is simpler than threading callbacks through the app.
void runJob(QKeychain::Job &job)
{
    job.setAutoDelete(false);
    bool done = false;
    QEventLoop loop;
    QObject::connect(&job, &QKeychain::Job::finished, &loop, [&done, &loop] {
        done = true;
        loop.quit();
    });
    job.start();
    if (!done)
        loop.exec();
}
#endif

} // namespace

SecretStore::SecretStore(const QString &filePath)
    : m_filePath(filePath)
    , m_backend(Backend::Keychain)
{
#ifdef WSTUNNEL_HAVE_KEYCHAIN
    if (qgetenv("WSTUNNEL_SECRET_BACKEND") == "file")
        m_backend = Backend::File;
#else
    m_backend = Backend::File;
#endif
}

QString SecretStore::defaultFilePath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) +
           QStringLiteral("/tokens.json");
}

std::optional<QByteArray> SecretStore::read(const QString &key, QString *error)
{
    if (m_backend == Backend::Keychain) {
        QByteArray secret;
        switch (keychainRead(key, &secret, error)) {
        case KeychainResult::Done:
            return secret;
        case KeychainResult::Failed:
            return std::nullopt;
        case KeychainResult::NotFound:
        case KeychainResult::Unavailable:
            break;
        }
    }
    // Also consulted after a keychain miss: the token may date from a session without keychain.
    return fileRead(key, error);
}

bool SecretStore::write(const QString &key, const QByteArray &secret, QString *error)
{
    if (secret.isEmpty())
        return remove(key, error);
    if (m_backend == Backend::Keychain) {
        switch (keychainWrite(key, secret, error)) {
        case KeychainResult::Done:
        case KeychainResult::NotFound:
            // A copy left in the file from an earlier session without keychain must go.
            return fileWrite(key, std::nullopt, error);
        case KeychainResult::Failed:
            return false;
        case KeychainResult::Unavailable:
            break;
        }
    }
    return fileWrite(key, secret, error);
}

bool SecretStore::remove(const QString &key, QString *error)
{
    if (m_backend == Backend::Keychain && keychainRemove(key, error) == KeychainResult::Failed)
        return false;
    return fileWrite(key, std::nullopt, error);
}

void SecretStore::fallBackToFile(const QString &reason)
{
    qCWarning(lcEngine).noquote()
        << QStringLiteral("no keychain available (%1); keeping tokens in %2, readable only by you")
               .arg(reason, m_filePath);
    m_backend = Backend::File;
}

#ifdef WSTUNNEL_HAVE_KEYCHAIN
namespace {

bool keychainMissing(QKeychain::Error error)
{
    return error == QKeychain::NoBackendAvailable || error == QKeychain::NotImplemented ||
           error == QKeychain::OtherError;
}

} // namespace

SecretStore::KeychainResult SecretStore::keychainRead(const QString &key, QByteArray *secret,
                                                      QString *error)
{
    QKeychain::ReadPasswordJob job(kService);
    job.setKey(key);
    runJob(job);
    if (job.error() == QKeychain::NoError) {
        *secret = job.binaryData();
        return KeychainResult::Done;
    }
    if (job.error() == QKeychain::EntryNotFound)
        return KeychainResult::NotFound;
    if (keychainMissing(job.error())) {
        fallBackToFile(job.errorString());
        return KeychainResult::Unavailable;
    }
    *error = tr("The keychain refused to read a token: %1").arg(job.errorString());
    return KeychainResult::Failed;
}

SecretStore::KeychainResult SecretStore::keychainWrite(const QString &key, const QByteArray &secret,
                                                       QString *error)
{
    QKeychain::WritePasswordJob job(kService);
    job.setKey(key);
    job.setBinaryData(secret);
    runJob(job);
    if (job.error() == QKeychain::NoError)
        return KeychainResult::Done;
    if (keychainMissing(job.error())) {
        fallBackToFile(job.errorString());
        return KeychainResult::Unavailable;
    }
    *error = tr("The keychain refused to store a token: %1").arg(job.errorString());
    return KeychainResult::Failed;
}

SecretStore::KeychainResult SecretStore::keychainRemove(const QString &key, QString *error)
{
    QKeychain::DeletePasswordJob job(kService);
    job.setKey(key);
    runJob(job);
    if (job.error() == QKeychain::NoError)
        return KeychainResult::Done;
    if (job.error() == QKeychain::EntryNotFound)
        return KeychainResult::NotFound;
    if (keychainMissing(job.error())) {
        fallBackToFile(job.errorString());
        return KeychainResult::Unavailable;
    }
    *error = tr("The keychain refused to delete a token: %1").arg(job.errorString());
    return KeychainResult::Failed;
}
#else
SecretStore::KeychainResult SecretStore::keychainRead(const QString &, QByteArray *, QString *)
{
    return KeychainResult::Unavailable;
}

SecretStore::KeychainResult SecretStore::keychainWrite(const QString &, const QByteArray &,
                                                       QString *)
{
    return KeychainResult::Unavailable;
}

SecretStore::KeychainResult SecretStore::keychainRemove(const QString &, QString *)
{
    return KeychainResult::Unavailable;
}
#endif

std::optional<QByteArray> SecretStore::fileRead(const QString &key, QString *error) const
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

bool SecretStore::fileWrite(const QString &key, const std::optional<QByteArray> &secret,
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
