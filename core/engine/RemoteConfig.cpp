#include "RemoteConfig.h"

namespace wstunnel {

ClientSettings RemoteConfig::toClientSettings() const
{
    ClientSettings settings;
    settings.url = url;
    settings.caFile = caFile;
    settings.pinSha256 = pinSha256;
    settings.trustedCertificateSha256 = trustedCertificateSha256;
    settings.clientCertFile = clientCertFile;
    settings.clientKeyFile = clientKeyFile;
    settings.proxyMode = proxyMode;
    settings.proxyUrl = proxyUrl;
    settings.headers = headers;
    return settings;
}

bool RemoteConfig::operator==(const RemoteConfig &other) const
{
    return id == other.id && name == other.name && url == other.url && builtIn == other.builtIn &&
           caFile == other.caFile && pinSha256 == other.pinSha256 &&
           trustedCertificateSha256 == other.trustedCertificateSha256 &&
           clientCertFile == other.clientCertFile && clientKeyFile == other.clientKeyFile &&
           proxyMode == other.proxyMode && proxyUrl == other.proxyUrl && headers == other.headers;
}

} // namespace wstunnel
