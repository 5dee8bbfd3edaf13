#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace wstunnel {

// Agent names as hubs, agents and desktops use them (docs/PROTOCOL.md, "Hub and agents"): 1 to 63
// letters, digits, '.', '_' and '-'; patterns add '*' for any run of those.
class AgentName
{
public:
    // The upgrade request header with which a desktop names the agent it wants to reach.
    static constexpr const char *kReachHeader = "WSTunnel-Agent";
    // The upgrade request header with which an agent registers its name with a hub.
    static constexpr const char *kRegisterHeader = "WSTunnel-Register";
    // The upgrade request header (value kListValue) with which a desktop asks a hub for the
    // agents it may reach, instead of naming one.
    static constexpr const char *kListHeader = "WSTunnel-List-Agents";
    static constexpr const char *kListValue = "1";
    static constexpr int kMaxLength = 63;

    static bool isValid(const QString &name);
    static bool isValidPattern(const QString &pattern);
    // Whether name matches pattern, case-sensitively.
    static bool matches(const QString &pattern, const QString &name);
    // Whether name matches any of patterns; an empty list admits every name.
    static bool matchesAny(const QStringList &patterns, const QString &name);
};

} // namespace wstunnel
