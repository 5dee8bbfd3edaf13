#pragma once

#include <QByteArray>
#include <QString>
#include <QtGlobal>

#include <optional>

namespace wstunnel {

// Where the desktop app keeps the tokens of its remotes, apart from the profile. Callers see
// only this interface, so that the keychain, and D-Bus with it, stays out of the core and of
// builds without a desktop.
class SecretStore
{
public:
    virtual ~SecretStore() = default;

    // An empty array when nothing is stored under key; nullopt with error set on failure.
    virtual std::optional<QByteArray> read(const QString &key, QString *error) = 0;
    // Storing an empty secret removes the key.
    virtual bool write(const QString &key, const QByteArray &secret, QString *error) = 0;
    virtual bool remove(const QString &key, QString *error) = 0;

protected:
    SecretStore() = default;

private:
    Q_DISABLE_COPY_MOVE(SecretStore)
};

} // namespace wstunnel
