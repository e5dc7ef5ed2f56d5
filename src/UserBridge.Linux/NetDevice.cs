namespace UserBridge.Linux;

/// <summary>Facts about network interfaces of the caller's namespace, read from sysfs.</summary>
public static class NetDevice
{
    public static bool Exists(string interfaceName) => Directory.Exists(Path.Combine("/sys/class/net", interfaceName));
}
