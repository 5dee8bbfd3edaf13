// The desktop app's profile JSON (remotes and mappings): reading must never crash, refuse what it
// does not understand with a reason, and a profile it accepts must be written and read back
// unchanged, since the app saves what it loaded.
#include "FuzzSupport.h"

#include "engine/ProfileStore.h"

using namespace wstunnel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    QString error;
    const std::optional<Profile> profile =
        ProfileStore::fromJson(fuzz::bytesOf(data, size).toByteArray(), &error);
    if (!profile) {
        fuzz::require(!error.isEmpty(), "a refused profile says why");
        return 0;
    }
    QString againError;
    const std::optional<Profile> again =
        ProfileStore::fromJson(ProfileStore::toJson(*profile), &againError);
    fuzz::require(again.has_value(), "a saved profile can be read again");
    fuzz::require(*again == *profile, "a profile reads back unchanged after saving");
    return 0;
}
