namespace UserBridge.Linux.Ports;

/// <summary>
/// One key = value of a port, from the config file (with its line) or from a <c>port add</c> request (line 0): a string,
/// a bool, a <see cref="long"/>, a <see cref="double"/> (a float, refused wherever an integer is wanted), an array, or an
/// inline table's own settings.
/// </summary>
public readonly record struct PortSetting(string Key, object Value, int Line);
