#include "DesktopSecretStore.h"

#include "engine/FileSecretStore.h"

#ifdef WSTUNNEL_WITH_KEYCHAIN
#include "ui/keychain/KeychainSecretStore.h"
#endif

namespace wstunnel {

std::unique_ptr<SecretStore> createDesktopSecretStore()
{
#ifdef WSTUNNEL_WITH_KEYCHAIN
    if (qgetenv("WSTUNNEL_SECRET_BACKEND") != "file")
        return std::make_unique<KeychainSecretStore>();
#endif
    return std::make_unique<FileSecretStore>();
}

} // namespace wstunnel
