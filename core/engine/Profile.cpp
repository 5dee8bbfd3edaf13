#include "Profile.h"

#include <QCoreApplication>
#include <QUuid>

namespace wstunnel {

Profile Profile::firstRun()
{
    RemoteConfig builtIn;
    builtIn.id = QStringLiteral("this-computer");
    builtIn.name = QCoreApplication::translate("wstunnel::Profile", "This computer");
    builtIn.builtIn = true;
    Profile profile;
    profile.remotes.append(builtIn);
    return profile;
}

QString Profile::newId()
{
    return QUuid::createUuid().toString(QUuid::WithoutBraces);
}

int Profile::remoteIndex(const QString &id) const
{
    for (int i = 0; i < remotes.size(); ++i) {
        if (remotes.at(i).id == id)
            return i;
    }
    return -1;
}

int Profile::mappingIndex(const QString &id) const
{
    for (int i = 0; i < mappings.size(); ++i) {
        if (mappings.at(i).id == id)
            return i;
    }
    return -1;
}

bool Profile::operator==(const Profile &other) const
{
    return remotes == other.remotes && mappings == other.mappings;
}

} // namespace wstunnel
