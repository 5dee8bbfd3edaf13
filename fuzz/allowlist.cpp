// Allow-list entries from --allow and the remote's config file: parsing must never crash, a
// refused entry says why and adds nothing, and an accepted one is a rule of exactly one kind.
#include "FuzzSupport.h"

#include "server/AllowList.h"

using namespace wstunnel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QString text = QString::fromUtf8(fuzz::bytesOf(data, size));
    AllowList::Rule rule;
    QString error;
    if (!AllowList::parseRule(text, &rule, &error)) {
        fuzz::require(!error.isEmpty(), "a refused rule says why");
        AllowList list;
        QString addError;
        fuzz::require(!list.addRule(text, &addError) && list.isEmpty(),
                      "a refused rule adds nothing");
        return 0;
    }
    fuzz::require(rule.port == -1 || (rule.port > 0 && rule.port <= 65535),
                  "a rule's port is any or a real port");
    fuzz::require(!rule.name.isEmpty() || !rule.network.isNull(),
                  "a rule names a host or a network");
    const int maxPrefix = rule.network.protocol() == QAbstractSocket::IPv4Protocol ? 32 : 128;
    fuzz::require(rule.network.isNull() ||
                      (rule.prefixLength >= 0 && rule.prefixLength <= maxPrefix),
                  "a network rule's prefix fits its address");
    AllowList list;
    fuzz::require(list.addRule(text, &error) && !list.isEmpty(), "an accepted rule is added");
    return 0;
}
