using System.Runtime.InteropServices;

namespace UserBridge.Linux.Interop;

/// <summary><c>struct iovec</c>: one buffer of a scatter/gather call.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVec
{
    public void* Base;
    public nuint Length;
}
