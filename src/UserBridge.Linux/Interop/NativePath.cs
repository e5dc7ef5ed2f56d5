using System.Text;

namespace UserBridge.Linux.Interop;

internal static class NativePath
{
    /// <summary><paramref name="path"/> as the NUL-terminated UTF-8 bytes system calls take.</summary>
    public static byte[] Bytes(string path) => Encoding.UTF8.GetBytes(path + "\0");
}
