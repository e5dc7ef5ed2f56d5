using Tmds.Linux;

namespace UserBridge.Linux;

public static class Privileges
{
    /// <summary>True when the effective user is root.</summary>
    public static bool IsRoot => LibC.geteuid() == 0;
}
