#pragma once

#include "engine/SecretStore.h"

#include <memory>

namespace wstunnel {

// The store of the tokens the desktop app saves: the OS keychain where this build has one, a
// file only the user may read otherwise or when WSTUNNEL_SECRET_BACKEND=file asks for it (tests,
// machines without a keychain). Call once the application's name is set: it names the file.
std::unique_ptr<SecretStore> createDesktopSecretStore();

} // namespace wstunnel
