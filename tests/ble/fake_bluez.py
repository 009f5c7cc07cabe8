#!/usr/bin/python3
"""A fake BlueZ on the D-Bus system bus, for testing the BLE transport without a radio.

Built on python3-dbusmock's bluez5 template (adapter hci0, devices), plus what the template lacks:
connections that resolve services, and the GATT tree of a provisioning device (docs/protocol.md 5.1):
one primary service, one characteristic per endpoint with a UUID derived from the service UUID,
and a 0x2901 user description per characteristic carrying the endpoint name.

Each fake device forwards every characteristic write to a simulator over HTTP on loopback
(`rainmaker-prov sim --transport softap`): the bytes become a POST to /<endpoint>, one HTTP
connection and session cookie per BLE connection, and the answer becomes the characteristic value
that the next ReadValue returns (one stored value per characteristic, as on the device). When the
simulator fails the request (it closes the connection without a response), the device reports it
the way its stack does: `nimble` answers the write with ATT error 0x04 and keeps the link,
`bluedroid` answers with ATT error 0x85 and drops the link.

Usage: fake_bluez.py --device NAME=URL[,STYLE] [--device ...] [--plain-device NAME]
       [--service-uuid UUID] [--endpoints a,b,c]
Prints `fake-bluez: ready` on stdout once every object is on the bus.
"""

import argparse
import http.client
import sys
import urllib.parse
from xml.etree import ElementTree

import dbus
import dbus.mainloop.glib
import dbus.service
import dbusmock
from dbusmock import mockobject
from gi.repository import GLib

BUS_NAME = 'org.bluez'
DEVICE_IFACE = 'org.bluez.Device1'
SERVICE_IFACE = 'org.bluez.GattService1'
CHAR_IFACE = 'org.bluez.GattCharacteristic1'
DESC_IFACE = 'org.bluez.GattDescriptor1'
OBJECT_MANAGER_IFACE = 'org.freedesktop.DBus.ObjectManager'
PROPS_IFACE = 'org.freedesktop.DBus.Properties'
USER_DESCRIPTION = '00002901-0000-1000-8000-00805f9b34fb'
DEFAULT_SERVICE = '021a9004-0382-4aea-bff4-6b3f1c5adfb4'
STANDARD_IDS = {
    'prov-ctrl': 0xFF4F,
    'prov-scan': 0xFF50,
    'prov-session': 0xFF51,
    'prov-config': 0xFF52,
    'proto-ver': 0xFF53,
}
FIRST_CUSTOM_ID = 0xFF54
# Bluedroid's value limit with security 2 support: longer answers are not stored.
MAX_VALUE = 481


_ORIGINAL_INTROSPECT = mockobject.DBusMockObject.Introspect


@dbus.service.method(dbus.INTROSPECTABLE_IFACE, in_signature='', out_signature='s',
                     path_keyword='object_path', connection_keyword='connection')
def _introspect(self, object_path, connection):
    """dbusmock's introspection with every <interface> before the child <node>s.

    dbusmock appends property-only interfaces after the children; BlueZ never does, and the
    introspection parser of the Rust `dbus` crate rejects interleaved lists.
    """
    tree = ElementTree.fromstring(_ORIGINAL_INTROSPECT(self, object_path, connection))
    children = list(tree)
    for child in children:
        tree.remove(child)
    for child in sorted(children, key=lambda element: element.tag == 'node'):
        tree.append(child)
    return ElementTree.tostring(tree, encoding='unicode')


mockobject.DBusMockObject.Introspect = _introspect


def characteristic_uuid(service_uuid, endpoint_id):
    """Array bytes 12 and 13 (LSB first) = the id, little-endian: string characters 4..8."""
    return service_uuid[:4] + f'{endpoint_id:04x}' + service_uuid[8:]


def att_error(code):
    return dbus.exceptions.DBusException(
        f'Operation failed with ATT error: 0x{code:02x}', name='org.bluez.Error.Failed')


def not_connected():
    return dbus.exceptions.DBusException('Not connected', name='org.bluez.Error.Failed')


class SimLink:
    """One HTTP connection + cookie to the simulator, i.e. one BLE connection's session."""

    def __init__(self, url):
        parsed = urllib.parse.urlsplit(url)
        self.host = parsed.hostname
        self.port = parsed.port or 80
        self.connection = None
        self.cookie = None

    def close(self):
        if self.connection is not None:
            self.connection.close()
        self.connection = None
        self.cookie = None

    def post(self, endpoint, body):
        """The simulator's answer, or None when it failed the request (no response)."""
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {'Content-type': 'application/x-www-form-urlencoded', 'Accept': 'text/plain'}
        if self.cookie:
            headers['Cookie'] = self.cookie
        try:
            self.connection.request('POST', '/' + endpoint, body=bytes(body), headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError) as error:
            log(f'{endpoint}: no response from the simulator ({error!r})')
            self.close()
            return None
        cookie = response.getheader('Set-Cookie')
        if cookie:
            self.cookie = cookie.split(';')[0].strip()
        if response.status != 200:
            log(f'{endpoint}: HTTP {response.status}')
            self.close()
            return None
        return data


def log(message):
    sys.stderr.write(f'fake-bluez: {message}\n')
    sys.stderr.flush()


def emit_props(obj, iface, changed):
    obj.EmitSignal(PROPS_IFACE, 'PropertiesChanged', 'sa{sv}as', [iface, changed, dbus.Array([], signature='s')])


def set_connected(device, connected):
    device.connected = connected
    device.props[DEVICE_IFACE]['Connected'] = dbus.Boolean(connected, variant_level=1)
    device.props[DEVICE_IFACE]['ServicesResolved'] = dbus.Boolean(connected, variant_level=1)
    emit_props(device, DEVICE_IFACE, {
        'Connected': dbus.Boolean(connected, variant_level=1),
        'ServicesResolved': dbus.Boolean(connected, variant_level=1),
    })
    if not connected:
        device.sim.close()


def device_connect(device):
    if device.connected:
        raise dbus.exceptions.DBusException('Already Connected', name='org.bluez.Error.AlreadyConnected')
    device.connections += 1
    device.sim.close()
    set_connected(device, True)
    log(f'{device.alias} connected')


def device_disconnect(device):
    if not device.connected:
        raise dbus.exceptions.DBusException('Not Connected', name='org.bluez.Error.NotConnected')
    set_connected(device, False)
    log(f'{device.alias} disconnected')


def char_read(char, options):
    device = mockobject.objects[char.device_path]
    if not device.connected:
        raise not_connected()
    offset = int(options.get('offset', 0))
    return dbus.Array(char.value[offset:], signature='y')


def char_write(char, value, options):
    device = mockobject.objects[char.device_path]
    if not device.connected:
        raise not_connected()
    if options.get('type', 'request') == 'command':
        # The device's characteristics do not allow write without response.
        raise dbus.exceptions.DBusException('Write without response not permitted',
                                            name='org.bluez.Error.NotPermitted')
    data = bytes(value)
    device.writes += 1
    if not data:
        # NimBLE ignores zero-length writes; Bluedroid v5.5.5 rejects them.
        return
    if len(data) > MAX_VALUE:
        raise dbus.exceptions.DBusException('Invalid Length', name='org.bluez.Error.InvalidValueLength')
    answer = device.sim.post(char.endpoint, data)
    if answer is None:
        if device.style == 'bluedroid':
            set_connected(device, False)
            log(f'{device.alias}: request failed, link dropped')
            raise att_error(0x85)
        log(f'{device.alias}: request failed, ATT 0x04')
        raise att_error(0x04)
    if len(answer) > MAX_VALUE:
        log(f'{char.endpoint}: answer of {len(answer)} bytes not stored')
        return
    char.value = answer


def desc_read(desc, options):
    offset = int(options.get('offset', 0))
    return dbus.Array(desc.value[offset:], signature='y')


def add_gatt(root, device_path, service_uuid, endpoints):
    """The provisioning service under `device_path`, one characteristic + 0x2901 per endpoint."""
    service_path = f'{device_path}/service000a'
    root.AddObject(service_path, SERVICE_IFACE, {
        'UUID': dbus.String(service_uuid, variant_level=1),
        'Primary': dbus.Boolean(True, variant_level=1),
        'Device': dbus.ObjectPath(device_path, variant_level=1),
        'Includes': dbus.Array([], signature='o', variant_level=1),
    }, [])
    root.object_manager_emit_added(service_path)
    handle = 0x000b
    custom_id = FIRST_CUSTOM_ID
    for endpoint in endpoints:
        if endpoint in STANDARD_IDS:
            endpoint_id = STANDARD_IDS[endpoint]
        else:
            endpoint_id = custom_id
            custom_id += 1
        char_path = f'{service_path}/char{handle:04x}'
        root.AddObject(char_path, CHAR_IFACE, {
            'UUID': dbus.String(characteristic_uuid(service_uuid, endpoint_id), variant_level=1),
            'Service': dbus.ObjectPath(service_path, variant_level=1),
            'Value': dbus.Array([], signature='y', variant_level=1),
            'Notifying': dbus.Boolean(False, variant_level=1),
            'Flags': dbus.Array(['read', 'write'], signature='s', variant_level=1),
            'MTU': dbus.UInt16(517, variant_level=1),
        }, [
            ('ReadValue', 'a{sv}', 'ay', char_read),
            ('WriteValue', 'aya{sv}', '', char_write),
        ])
        char = mockobject.objects[char_path]
        char.endpoint = endpoint
        char.device_path = device_path
        char.value = b''
        root.object_manager_emit_added(char_path)
        desc_path = f'{char_path}/desc{handle + 2:04x}'
        root.AddObject(desc_path, DESC_IFACE, {
            'UUID': dbus.String(USER_DESCRIPTION, variant_level=1),
            'Characteristic': dbus.ObjectPath(char_path, variant_level=1),
            'Value': dbus.Array([], signature='y', variant_level=1),
            'Flags': dbus.Array(['read'], signature='s', variant_level=1),
        }, [('ReadValue', 'a{sv}', 'ay', desc_read)])
        mockobject.objects[desc_path].value = endpoint.encode('ascii')
        root.object_manager_emit_added(desc_path)
        handle += 3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', action='append', default=[], metavar='NAME=URL[,STYLE]',
                        help='a provisioning device forwarding to the simulator at URL; '
                             'STYLE is nimble (default) or bluedroid')
    parser.add_argument('--plain-device', action='append', default=[], metavar='NAME',
                        help='a device that is not in provisioning mode (no GATT service)')
    parser.add_argument('--service-uuid', default=DEFAULT_SERVICE)
    parser.add_argument('--endpoints', default='prov-ctrl,prov-scan,prov-session,prov-config,proto-ver,custom-data')
    args = parser.parse_args()

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    bus_name = dbus.service.BusName(BUS_NAME, bus, allow_replacement=True, replace_existing=True,
                                    do_not_queue=True)
    root = dbusmock.mockobject.DBusMockObject(bus_name, '/', OBJECT_MANAGER_IFACE, {},
                                              '/dev/null', True)
    mockobject.objects['/'] = root
    root.AddTemplate('bluez5', None)
    root.AddAdapter('hci0', 'fake-bluez host')

    endpoints = [e for e in args.endpoints.split(',') if e]
    service_uuid = args.service_uuid.lower()
    number = 0
    for spec in args.device:
        name, _, rest = spec.partition('=')
        url, _, style = rest.partition(',')
        style = style or 'nimble'
        if style not in ('nimble', 'bluedroid'):
            parser.error(f'unknown style {style}')
        number += 1
        address = f'24:0A:C4:00:00:{number:02X}'
        path = root.AddDevice('hci0', address, name)
        device = mockobject.objects[path]
        device.props[DEVICE_IFACE]['UUIDs'] = dbus.Array([service_uuid], signature='s', variant_level=1)
        device.props[DEVICE_IFACE]['RSSI'] = dbus.Int16(-40 - number, variant_level=1)
        device.AddMethods(DEVICE_IFACE, [
            ('Connect', '', '', device_connect),
            ('Disconnect', '', '', device_disconnect),
        ])
        device.alias = name
        device.style = style
        device.sim = SimLink(url)
        device.connections = 0
        device.writes = 0
        add_gatt(root, path, service_uuid, endpoints)
        log(f'{name} at {address} ({style}) -> {url}')
    for name in args.plain_device:
        number += 1
        path = root.AddDevice('hci0', f'24:0A:C4:00:01:{number:02X}', name)
        device = mockobject.objects[path]
        device.sim = SimLink('http://127.0.0.1:9')

    print('fake-bluez: ready', flush=True)
    loop = GLib.MainLoop()
    bus.add_signal_receiver(lambda: loop.quit(), signal_name='Disconnected',
                            path='/org/freedesktop/DBus/Local', dbus_interface='org.freedesktop.DBus.Local')
    loop.run()


if __name__ == '__main__':
    main()
