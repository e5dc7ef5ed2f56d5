using System.Text.Json;

namespace UserBridge.Core.Ports;

/// <summary>A port with state of its own type to show in <c>port show</c> (a vhost-user port's negotiated features and queues).</summary>
public interface IDescribedPort : IPort
{
    /// <summary>Writes the port's own properties into the open JSON object (read racily: a view, not a snapshot).</summary>
    void Describe(Utf8JsonWriter writer);
}
