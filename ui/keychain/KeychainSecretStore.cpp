#include "KeychainSecretStore.h"

#include "engine/EngineLogging.h"

#include <QEventLoop>

#include <qt6keychain/keychain.h>

namespace wstunnel {

namespace {

const QLatin1String kService("wstunnel");

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

bool keychainMissing(QKeychain::Error error)
{
    return error == QKeychain::NoBackendAvailable || error == QKeychain::NotImplemented ||
           error == QKeychain::OtherError;
}

} // namespace

KeychainSecretStore::KeychainSecretStore(const QString &fallbackFilePath)
    : m_file(fallbackFilePath)
{
}

std::optional<QByteArray> KeychainSecretStore::read(const QString &key, QString *error)
{
    if (m_keychainAvailable) {
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
    return m_file.read(key, error);
}

bool KeychainSecretStore::write(const QString &key, const QByteArray &secret, QString *error)
{
    if (secret.isEmpty())
        return remove(key, error);
    if (m_keychainAvailable) {
        switch (keychainWrite(key, secret, error)) {
        case KeychainResult::Done:
        case KeychainResult::NotFound:
            // A copy left in the file from an earlier session without keychain must go.
            return m_file.remove(key, error);
        case KeychainResult::Failed:
            return false;
        case KeychainResult::Unavailable:
            break;
        }
    }
    return m_file.write(key, secret, error);
}

bool KeychainSecretStore::remove(const QString &key, QString *error)
{
    if (m_keychainAvailable && keychainRemove(key, error) == KeychainResult::Failed)
        return false;
    return m_file.remove(key, error);
}

void KeychainSecretStore::fallBackToFile(const QString &reason)
{
    qCWarning(lcEngine).noquote()
        << QStringLiteral("no keychain available (%1); keeping tokens in %2, readable only by you")
               .arg(reason, m_file.filePath());
    m_keychainAvailable = false;
}

KeychainSecretStore::KeychainResult
KeychainSecretStore::keychainRead(const QString &key, QByteArray *secret, QString *error)
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

KeychainSecretStore::KeychainResult
KeychainSecretStore::keychainWrite(const QString &key, const QByteArray &secret, QString *error)
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

KeychainSecretStore::KeychainResult KeychainSecretStore::keychainRemove(const QString &key,
                                                                        QString *error)
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

} // namespace wstunnel
