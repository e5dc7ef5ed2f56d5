namespace UserBridge.Control.Tests;

/// <summary>The clone the tests run from: samples and docs are checked against the code.</summary>
internal static class Repository
{
    public static string Root
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "UserBridge.sln")))
            {
                directory = directory.Parent;
            }

            return directory?.FullName ?? throw new InvalidOperationException("UserBridge.sln not found above the test binaries");
        }
    }
}
