using Tmds.Linux;
using UserBridge.Linux.Interop;

namespace UserBridge.Linux.Ports.VhostUser;

/// <summary>
/// The guest's memory as <c>SET_MEM_TABLE</c> shares it: each region an fd the switch maps <c>MAP_SHARED</c>, known by
/// its guest-physical address (what descriptors hold) and by its address in QEMU's process (what <c>SET_VRING_ADDR</c>
/// gives). Every translation checks that the whole range lies inside one region: a descriptor that points anywhere else
/// is refused, never followed. Immutable once built; a new table is a new object.
/// </summary>
public sealed unsafe class GuestMemory : IDisposable
{
    private readonly Region[] _regions;
    private int _disposed;

    private GuestMemory(Region[] regions) => _regions = regions;

    /// <summary>No memory yet: every translation fails.</summary>
    public static GuestMemory Empty { get; } = new([]);

    public int RegionCount => _regions.Length;

    /// <summary>
    /// Maps the regions of a <c>SET_MEM_TABLE</c> payload (<paramref name="table"/>: nregions, padding, then per region
    /// guest_phys_addr, memory_size, userspace_addr, mmap_offset) with their fds, which it closes once mapped.
    /// </summary>
    public static GuestMemory Map(ReadOnlySpan<byte> table, ReadOnlySpan<int> fds)
    {
        if (table.Length < 8)
        {
            throw new VhostUserException("SET_MEM_TABLE without its region count");
        }

        var count = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(table);
        if (count is 0 or > VhostUserProtocol.MaxRegions || table.Length < 8 + ((int)count * 32) || fds.Length != count)
        {
            throw new VhostUserException($"SET_MEM_TABLE with {count} regions, {fds.Length} fds and {table.Length} bytes");
        }

        var regions = new List<Region>((int)count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var entry = table.Slice(8 + (i * 32), 32);
                regions.Add(Region.Map(
                    fds[i],
                    System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(entry),
                    System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]),
                    System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]),
                    System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(entry[24..])));
            }
        }
        catch
        {
            regions.ForEach(region => region.Unmap());
            throw;
        }

        return new GuestMemory([.. regions]);
    }

    /// <summary>The host address of <paramref name="length"/> bytes at guest-physical <paramref name="address"/>, or null when they do not lie in one region.</summary>
    public byte* FromGuest(ulong address, ulong length)
    {
        foreach (var region in _regions)
        {
            if (address >= region.GuestAddress && length <= region.Size && address - region.GuestAddress <= region.Size - length)
            {
                return region.Host + (address - region.GuestAddress);
            }
        }

        return null;
    }

    /// <summary>The host address of <paramref name="length"/> bytes at QEMU's <paramref name="address"/> (a ring's), or null.</summary>
    public byte* FromFrontend(ulong address, ulong length)
    {
        foreach (var region in _regions)
        {
            if (address >= region.FrontendAddress && length <= region.Size && address - region.FrontendAddress <= region.Size - length)
            {
                return region.Host + (address - region.FrontendAddress);
            }
        }

        return null;
    }

    /// <summary>Unmaps the regions; only once nothing can read or write through them any more.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            foreach (var region in _regions)
            {
                region.Unmap();
            }
        }
    }

    private sealed class Region(byte* mapping, ulong mappedLength, ulong guestAddress, ulong size, ulong frontendAddress, ulong offset)
    {
        public byte* Host { get; } = mapping + offset;

        public ulong GuestAddress { get; } = guestAddress;

        public ulong Size { get; } = size;

        public ulong FrontendAddress { get; } = frontendAddress;

        public static Region Map(int fd, ulong guestAddress, ulong size, ulong frontendAddress, ulong offset)
        {
            try
            {
                if (size == 0 || size > long.MaxValue - offset)
                {
                    throw new VhostUserException($"a memory region of {size} bytes at offset {offset}");
                }

                // The offset is where the region starts in the fd; mapping from 0 keeps the mapping page-aligned.
                var length = size + offset;
                var mapping = LibC.mmap(null, (size_t)length, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, fd, 0);
                if (mapping == LibC.MAP_FAILED)
                {
                    throw new InteropException($"mmap of a guest memory region ({size} bytes)", LibC.errno);
                }

                return new Region((byte*)mapping, length, guestAddress, size, frontendAddress, offset);
            }
            finally
            {
                FileDescriptor.CloseQuietly(fd);
            }
        }

        public void Unmap() => _ = LibC.munmap(mapping, (size_t)mappedLength);
    }
}
