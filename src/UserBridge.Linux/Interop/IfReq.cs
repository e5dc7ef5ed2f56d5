using System.Runtime.InteropServices;
using System.Text;

namespace UserBridge.Linux.Interop;

/// <summary><c>struct ifreq</c>: the name, then a 24-byte union whose first member here is the flags.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal unsafe struct IfReq
{
    public const int Size = 40;

    [FieldOffset(0)]
    public fixed byte Name[NetDevice.IFNAMSIZ];

    [FieldOffset(NetDevice.IFNAMSIZ)]
    public short Flags;

    [FieldOffset(NetDevice.IFNAMSIZ)]
    public int Index;

    public static IfReq For(string interfaceName)
    {
        NetDevice.ValidateName(interfaceName);
        var request = default(IfReq);
        var bytes = Encoding.ASCII.GetBytes(interfaceName);
        for (var i = 0; i < bytes.Length; i++)
        {
            request.Name[i] = bytes[i];
        }

        return request;
    }
}
