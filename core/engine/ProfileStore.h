#pragma once

#include "Profile.h"

#include <QCoreApplication>
#include <QString>

#include <optional>

namespace wstunnel {

// Reads and writes profiles as versioned JSON. Writing is atomic (QSaveFile), so a crash never
// leaves half a profile behind; reading refuses anything it does not fully understand, files
// from a newer version included, rather than guessing.
class ProfileStore
{
    Q_DECLARE_TR_FUNCTIONS(wstunnel::ProfileStore)

public:
    static constexpr int kFormatVersion = 1;

    // profile.json in the user's configuration directory for this application.
    static QString defaultPath();

    static std::optional<Profile> read(const QString &path, QString *error);
    static bool write(const QString &path, const Profile &profile, QString *error);

    static std::optional<Profile> fromJson(const QByteArray &json, QString *error);
    static QByteArray toJson(const Profile &profile);
};

} // namespace wstunnel
