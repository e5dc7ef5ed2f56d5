using UserBridge.Linux.Files;


namespace UserBridge.Capture.Tests;

/// <summary>The <c>O_DIRECT</c> file writer the capture files use: what reaches the file is exactly what was written.</summary>
public sealed class DirectFileWriterTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ub-direct-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void BlocksOfAnySizeAcrossStagingAndFlushesReachTheFileExactly()
    {
        var path = Path.Combine(_directory, "direct.bin");
        var random = new Random(7);
        var expected = new MemoryStream();
        using (var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read))
        {
            using var writer = DirectFileWriter.TryOpen(path, file.SafeFileHandle);
            Assert.NotNull(writer);
            for (var block = 0; expected.Length < 3L * DirectFileWriter.StagingBytes; block++)
            {
                var head = Bytes(random, random.Next(0, 40));
                var body = Bytes(random, random.Next(0, 70_000));
                var tail = Bytes(random, random.Next(0, 40));
                writer.Write(head, body, tail);
                expected.Write(head);
                expected.Write(body);
                expected.Write(tail);
                if (block % 37 == 0)
                {
                    writer.Flush();
                    Assert.Equal(expected.Length, new FileInfo(path).Length);
                    Assert.Equal(expected.Length, writer.Length);
                }
            }
        }

        Assert.Equal(expected.ToArray(), File.ReadAllBytes(path));
    }

    [Fact]
    public void AFileThatIsNotEmptyAtTheEndOfAFlushKeepsItsExactLengthAfterMoreWrites()
    {
        var path = Path.Combine(_directory, "tail.bin");
        using (var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read))
        using (var writer = DirectFileWriter.TryOpen(path, file.SafeFileHandle)!)
        {
            writer.Write([1, 2, 3], default, default);
            writer.Flush();
            Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
            writer.Write([4], [5, 6], [7]);
        }

        Assert.Equal([1, 2, 3, 4, 5, 6, 7], File.ReadAllBytes(path));
    }

    private static byte[] Bytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
