namespace UserBridge.Linux;

/// <summary>Facts about network interfaces of the caller's namespace, read from sysfs.</summary>
public static class NetDevice
{
    public static bool Exists(string interfaceName) => Directory.Exists(Path.Combine("/sys/class/net", interfaceName));

    /// <summary>The interface's MAC address as sysfs prints it, or null when it does not exist.</summary>
    public static string? Address(string interfaceName)
    {
        var path = Path.Combine("/sys/class/net", interfaceName, "address");
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>The interface's index, or null when it does not exist.</summary>
    public static int? Index(string interfaceName)
    {
        var path = Path.Combine("/sys/class/net", interfaceName, "ifindex");
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), out var index) ? index : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
