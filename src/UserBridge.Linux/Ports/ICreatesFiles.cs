using UserBridge.Linux.Files;

namespace UserBridge.Linux.Ports;

/// <summary>A port or endpoint that created files (socket files) it removes when it closes: the exit janitor's list.</summary>
public interface ICreatesFiles
{
    IReadOnlyList<CreatedFile> Files { get; }
}
