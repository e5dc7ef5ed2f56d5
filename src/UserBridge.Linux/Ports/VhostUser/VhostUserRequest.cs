namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>The requests of the vhost-user protocol (QEMU's <c>docs/interop/vhost-user.rst</c>) that a net backend sees.</summary>
public enum VhostUserRequest : uint
{
    None = 0,
    GetFeatures = 1,
    SetFeatures = 2,
    SetOwner = 3,
    ResetOwner = 4,
    SetMemTable = 5,
    SetLogBase = 6,
    SetLogFd = 7,
    SetVringNum = 8,
    SetVringAddr = 9,
    SetVringBase = 10,
    GetVringBase = 11,
    SetVringKick = 12,
    SetVringCall = 13,
    SetVringErr = 14,
    GetProtocolFeatures = 15,
    SetProtocolFeatures = 16,
    GetQueueNum = 17,
    SetVringEnable = 18,
    SendRarp = 19,
    NetSetMtu = 20,
    SetBackendRequestFd = 21,
    IotlbMessage = 22,
    SetVringEndian = 23,
    GetConfig = 24,
    SetConfig = 25,
}
