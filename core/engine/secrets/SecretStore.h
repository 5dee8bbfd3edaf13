#pragma once

#include <QByteArray>
#include <QCoreApplication>
#include <QString>

#include <optional>

namespace wstunnel {

// Keeps the tokens of remotes out of profiles: in the OS keychain (QtKeychain) when a keychain
// service answers, otherwise in a JSON file that only the user may read (0600, in a 0700
// folder). WSTUNNEL_SECRET_BACKEND=file skips the keychain, for tests and headless machines.
class SecretStore
{
    Q_DECLARE_TR_FUNCTIONS(wstunnel::SecretStore)

public:
    enum class Backend { Keychain, File };

    explicit SecretStore(const QString &filePath = defaultFilePath());

    static QString defaultFilePath();
    Backend backend() const { return m_backend; }
    QString filePath() const { return m_filePath; }

    // An empty array when nothing is stored under key; nullopt with error set on failure.
    std::optional<QByteArray> read(const QString &key, QString *error);
    bool write(const QString &key, const QByteArray &secret, QString *error);
    bool remove(const QString &key, QString *error);

private:
    enum class KeychainResult { Done, NotFound, Unavailable, Failed };

    KeychainResult keychainRead(const QString &key, QByteArray *secret, QString *error);
    KeychainResult keychainWrite(const QString &key, const QByteArray &secret, QString *error);
    KeychainResult keychainRemove(const QString &key, QString *error);
    void fallBackToFile(const QString &reason);

    std::optional<QByteArray> fileRead(const QString &key, QString *error) const;
    bool fileWrite(const QString &key, const std::optional<QByteArray> &secret,
                   QString *error) const;

    QString m_filePath;
    Backend m_backend;
};

} // namespace wstunnel
