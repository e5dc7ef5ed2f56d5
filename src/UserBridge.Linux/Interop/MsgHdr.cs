using System.Runtime.InteropServices;

namespace UserBridge.Linux.Interop;

/// <summary><c>struct msghdr</c>: the buffers, address and control data of <c>sendmsg</c>/<c>recvmsg</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsgHdr
{
    public void* Name;
    public int NameLength;
    public IoVec* Iov;
    public nuint IovLength;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}
